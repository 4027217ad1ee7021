"""Layer services shared by the CLI and the staff API: import a file into the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .ingest import import_source
from .store.base import Store
from .types import ImportReport


def import_file(store: Store, path: Path, layer_id: str, *,
                on_progress: Callable[[int, int], None] | None = None,
                attribution: str = "", description: str = "",
                **options: Any) -> ImportReport:
    """Read ``path`` (any supported format, sniffed by content) and swap it in as ``layer_id``.

    ``options`` are ``import_source``'s: title, crs, layer, encoding, x/y/wkt columns.
    """
    return store.import_layer(
        layer_id,
        lambda workdir: import_source(path, layer_id=layer_id, workdir=workdir,
                                      on_progress=on_progress, **options),
        attribution=attribution, description=description)

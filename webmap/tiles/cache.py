"""Rendered tiles on disk, keyed by layer version: a replaced layer never serves old tiles."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..types import LayerInfo
from .request import TileRequest

MAX_CACHED_ZOOM = 16
"""Deeper tiles are cheap to make and too many to keep: they are rendered every time."""


class TileCache(Protocol):
    """Rendered tiles kept per layer version."""

    def fetch(self, info: LayerInfo, tile: TileRequest, ext: str,
              render: Callable[[], bytes]) -> bytes:
        """The kept tile, or ``render()`` (kept for next time)."""

    def drop_layer(self, layer_id: str) -> None:
        """Forget every tile of a removed layer."""


class DiskTileCache:
    """``{root}/{layer}/{version}/{grid}/{z}/{row}/{col}.{ext}``; shared by worker processes."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self._seen: dict[str, str] = {}

    def fetch(self, info: LayerInfo, tile: TileRequest, ext: str,
              render: Callable[[], bytes]) -> bytes:
        """The cached tile, or ``render()`` stored for next time (empty tiles too)."""
        if not self.enabled or tile.zoom > MAX_CACHED_ZOOM:
            return render()
        path = (self.root / info.id / info.version / str(tile.grid.id) / str(tile.zoom)
                / str(tile.row) / f"{tile.col}.{ext}")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        data = render()
        if self._seen.get(info.id) != info.version:
            self._drop_other_versions(info)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{uuid.uuid4().hex}.tmp")
        scratch.write_bytes(data)
        os.replace(scratch, path)
        return data

    def _drop_other_versions(self, info: LayerInfo) -> None:
        """Remove tiles of older versions the first time a process meets a new one."""
        self._seen[info.id] = info.version
        folder = self.root / info.id
        if folder.is_dir():
            for child in folder.iterdir():
                if child.name != info.version:
                    shutil.rmtree(child, ignore_errors=True)

    def drop_layer(self, layer_id: str) -> None:
        """Forget every tile of a removed layer."""
        shutil.rmtree(self.root / layer_id, ignore_errors=True)
        self._seen.pop(layer_id, None)

"""Mapnik, the renderer OpenStreetMap's own tile servers use, loaded from Debian's package.

Mapnik's Python bindings are not on PyPI for current Pythons; Debian ships them as
``python3-mapnik`` (built against Debian's libmapnik 3.1). This module imports them from the
venv's own path when they are there, and otherwise from Debian's ``dist-packages`` folder by
file location, without putting that whole folder on ``sys.path``.
"""

from __future__ import annotations

import importlib
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

DEBIAN_DIRS = (Path("/usr/lib/python3/dist-packages"),)
INSTALL_HINT = ("the base-map renderer needs Mapnik: `apt-get install python3-mapnik "
                "fonts-dejavu-core` (Debian/Ubuntu)")


class RendererMissing(RuntimeError):
    """Mapnik cannot be imported here."""


def _from_debian() -> ModuleType | None:
    """Import ``mapnik`` with Debian's folder on the path only for the import itself."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    for folder in DEBIAN_DIRS:
        if not (folder / "mapnik" / f"_mapnik{suffix}").is_file():
            continue
        sys.path.append(str(folder))
        try:
            return importlib.import_module("mapnik")
        finally:
            sys.path.remove(str(folder))
    return None


def load_mapnik() -> ModuleType:
    """The ``mapnik`` module; ``RendererMissing`` saying how to install it otherwise."""
    if "mapnik" in sys.modules:
        return sys.modules["mapnik"]
    try:
        import mapnik  # type: ignore[import-not-found]
    except ImportError:
        try:
            module = _from_debian()
        except ImportError as exc:
            raise RendererMissing(f"{INSTALL_HINT} ({exc})") from None
        if module is None:
            raise RendererMissing(INSTALL_HINT) from None
        return module
    return mapnik  # type: ignore[no-any-return]

"""Front-end libraries served by webmap itself: xstatic packages from PyPI and npm packages.

folium keeps CDN URLs in class-level ``default_js``/``default_css``; they are pointed at
these local files once, here, at import. Nothing the widget loads comes from another host.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import folium
import xstatic.pkg.leaflet as xs_leaflet
import xstatic.pkg.leaflet_gesturehandling as xs_gesture

NPM_VENDOR = Path(__file__).parent / "vendor"
"""The npm packages of ``package-lock.json`` (proj4, Proj4Leaflet), copied here by
``make vendor`` after ``npm ci`` so that they ship inside the Python package."""
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Package:
    """One front-end package: where its files are and the version in its URLs."""

    name: str
    version: str
    directory: Path


def _npm_version(name: str) -> str:
    import json

    manifest = NPM_VENDOR / name / "package.json"
    if not manifest.is_file():
        return "missing"
    version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    return version


PACKAGES: dict[str, Package] = {
    package.name: package for package in (
        Package("leaflet", xs_leaflet.VERSION, Path(xs_leaflet.BASE_DIR)),
        Package("leaflet-gesture-handling", xs_gesture.VERSION, Path(xs_gesture.BASE_DIR)),
        Package("proj4", _npm_version("proj4"), NPM_VENDOR / "proj4"),
        Package("proj4leaflet", _npm_version("proj4leaflet"), NPM_VENDOR / "proj4leaflet"),
    )
}


def missing_packages() -> list[str]:
    """Packages whose files are not there (``make vendor`` not run): logged at start-up."""
    return [p.name for p in PACKAGES.values() if not p.directory.is_dir()]


def vendor_path(package: str, version: str, filename: str) -> Path | None:
    """The file behind ``/static/vendor/<package>/<version>/<filename>``, or None."""
    found = PACKAGES.get(package)
    if found is None or found.version != version:
        return None
    path = (found.directory / filename).resolve()
    if not path.is_relative_to(found.directory.resolve()) or not path.is_file():
        return None
    return path


def vendor_url(package: str, filename: str) -> str:
    """The site-relative URL of a vendor file (versioned, so it can be cached for ever)."""
    return f"static/vendor/{package}/{PACKAGES[package].version}/{filename}"


def static_path(filename: str) -> Path | None:
    """The widget's own static file ``filename``, or None."""
    path = (STATIC / filename).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        return None
    return path


MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json",
               ".map": "application/json", ".png": "image/png", ".svg": "image/svg+xml"}
COMPRESS = {".js", ".css", ".json", ".map", ".svg"}


def media_type(path: Path) -> str:
    """The media type of a front-end file, by its suffix."""
    return MEDIA_TYPES.get(path.suffix, "application/octet-stream")


_GZIPPED: dict[tuple[Path, int], tuple[bytes, str]] = {}


def compressed(path: Path) -> tuple[bytes, str] | None:
    """``(gzip bytes, etag)`` of a text file, made once per file version; None for images."""
    if path.suffix not in COMPRESS:
        return None
    key = (path, path.stat().st_mtime_ns)
    found = _GZIPPED.get(key)
    if found is None:
        raw = path.read_bytes()
        body = gzip.compress(raw, compresslevel=9, mtime=0)
        found = (body, hashlib.sha256(raw).hexdigest()[:20] + "-gz")
        _GZIPPED[key] = found
    return found


@cache
def static_digest(filename: str) -> str:
    """A short digest of a widget static file, for cache-busting URLs."""
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:10]


LEAFLET_JS = vendor_url("leaflet", "leaflet.js")
LEAFLET_CSS = vendor_url("leaflet", "leaflet.css")
GESTURE_JS = vendor_url("leaflet-gesture-handling", "leaflet-gesture-handling.min.js")
GESTURE_CSS = vendor_url("leaflet-gesture-handling", "leaflet-gesture-handling.min.css")
PROJ4_JS = vendor_url("proj4", "proj4.js")
PROJ4LEAFLET_JS = vendor_url("proj4leaflet", "proj4leaflet.js")

# folium's own CDN links (Leaflet, jQuery, Bootstrap, Font Awesome …) are replaced by the
# local files the widget needs. The links are relative to the page, ``/embed/<map>``, so they
# work whatever path prefix a reverse proxy gives the service.
PAGE_TO_ROOT = "../"
folium.Map.default_js = [("leaflet", PAGE_TO_ROOT + LEAFLET_JS),
                         ("gesture_handling", PAGE_TO_ROOT + GESTURE_JS)]
folium.Map.default_css = [("leaflet_css", PAGE_TO_ROOT + LEAFLET_CSS),
                          ("gesture_handling_css", PAGE_TO_ROOT + GESTURE_CSS)]

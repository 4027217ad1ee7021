"""Base maps from other tile services (NLS WMTS, Lantmäteriet topowebb, any WMTS/XYZ), through
webmap: residents' browsers talk only to webmap, the API key stays on the server.

A proxied base is a file ``styles/basemaps/ID.json`` with an ``upstream``::

    {"title": {...}, "attribution": "© Maanmittauslaitos", "background": "#ffffff",
     "upstream": {
        "url": "https://host/wmts/1.0.0/taustakartta/default/{matrixset}/{z}/{y}/{x}.png",
        "matrix_sets": {"WebMercatorQuad": "WGS84_Pseudo-Mercator",
                        "ETRS-TM35FIN": "ETRS-TM35FIN"},
        "key_env": "WEBMAP_NLS_API_KEY", "key_param": "api-key",
        "max_zoom": {"WebMercatorQuad": 19}, "palette": ["#ffffff", "#d8d8d8"]}}

The key is read from the environment variable ``key_env`` (never from the file) and sent as
the query parameter ``key_param`` or the HTTP basic-auth user (``key_auth": "basic"``, as
Lantmäteriet's token). Tiles are kept in a bounded disk cache; a slow or failing upstream
gives an error tile (or problem+json to clients that do not ask for images) within the
timeout, so no worker waits on it for long.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..problems import NotFound, Problem
from ..tiles.request import TileRequest

log = logging.getLogger("webmap.basemap.proxy")

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
MAX_TILE_BYTES = 4 * 1024 * 1024
_URL_KEYS = {"url", "matrix_sets", "key_env", "key_param", "key_auth", "max_zoom",
             "palette", "headers"}


class UpstreamError(Problem):
    """The upstream tile service failed or is too slow; nothing of it reaches the client."""

    status = 502

    def __init__(self, detail: str, *, status: int = 502) -> None:
        super().__init__(detail, status=status, title="Base map service unavailable")


@dataclass(frozen=True, kw_only=True)
class Upstream:
    """Where a proxied base map's tiles come from."""

    url: str
    matrix_sets: Mapping[str, str]
    key_env: str | None = None
    key_param: str | None = None
    key_auth: str | None = None
    max_zoom: Mapping[str, int] = field(default_factory=dict)
    palette: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> str | None:
        """The key from the environment now (None when it is not needed or not set)."""
        if not self.key_env:
            return None
        value = os.environ.get(self.key_env, "").strip()
        return value or None

    def missing(self) -> str | None:
        """Why the base cannot be offered, or None."""
        if self.key_env and self.key() is None:
            return f"its key {self.key_env} is not set"
        return None

    def request(self, tile: TileRequest) -> urllib.request.Request:
        """The upstream request for one tile (the key added here, on the server only)."""
        matrix_set = self.matrix_sets.get(str(tile.grid.id))
        if matrix_set is None:
            raise NotFound(f"this base map is not offered in {tile.grid.id}; use one of "
                           f"{', '.join(sorted(self.matrix_sets))}")
        limit = self.max_zoom.get(str(tile.grid.id))
        if limit is not None and tile.zoom > limit:
            raise NotFound(f"this base map goes to level {limit} in {tile.grid.id}")
        url = (self.url.replace("{matrixset}", urllib.parse.quote(matrix_set, safe=""))
               .replace("{z}", str(tile.zoom)).replace("{y}", str(tile.row))
               .replace("{x}", str(tile.col)))
        headers = {"User-Agent": "webmap tile proxy", **self.headers}
        key = self.key()
        if key is not None and self.key_auth == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{key}:".encode()).decode("ascii")
        elif key is not None:
            joiner = "&" if "?" in url else "?"
            url = f"{url}{joiner}{urllib.parse.urlencode({self.key_param or 'api-key': key})}"
        return urllib.request.Request(url, headers=headers)  # noqa: S310 (http(s) checked)


def parse_upstream(value: object, where: str) -> Upstream:
    """Validate an ``upstream`` object; errors name the field (``ValueError``)."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: give an object with a \"url\" and \"matrix_sets\"")
    unknown = sorted(set(value) - _URL_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; use {sorted(_URL_KEYS)}")
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or not all(
            part in url for part in ("{z}", "{x}", "{y}")):
        raise ValueError(f"{where}.url: give an http(s) URL with {{z}}, {{y}} and {{x}}")
    sets = value.get("matrix_sets")
    if not isinstance(sets, Mapping) or not sets or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in sets.items()):
        raise ValueError(f"{where}.matrix_sets: give {{webmap grid: upstream matrix set}}, "
                         "e.g. {\"WebMercatorQuad\": \"WGS84_Pseudo-Mercator\"}")
    from ..tiles.grids import GRIDS

    for grid_id in sets:
        if grid_id not in GRIDS:
            raise ValueError(f"{where}.matrix_sets: {grid_id!r} is not a grid of webmap; use "
                             f"{', '.join(sorted(GRIDS))}")
    key_env = value.get("key_env")
    if key_env is not None and (not isinstance(key_env, str) or not key_env.isidentifier()):
        raise ValueError(f"{where}.key_env: give the name of an environment variable")
    auth = value.get("key_auth")
    if auth not in (None, "query", "basic"):
        raise ValueError(f"{where}.key_auth: give \"query\" or \"basic\"")
    max_zoom = value.get("max_zoom", {})
    if not isinstance(max_zoom, Mapping) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in max_zoom.values()):
        raise ValueError(f"{where}.max_zoom: give {{grid: level}}")
    palette = value.get("palette", [])
    if not isinstance(palette, list) or not all(isinstance(c, str) for c in palette):
        raise ValueError(f"{where}.palette: give the colours the tiles show most")
    headers = value.get("headers", {})
    if not isinstance(headers, Mapping):
        raise ValueError(f"{where}.headers: give an object")
    key_param = value.get("key_param")
    return Upstream(url=url, matrix_sets=dict(sets), key_env=key_env,
                    key_param=str(key_param) if key_param else None, key_auth=auth,
                    max_zoom=dict(max_zoom), palette=tuple(c.lower() for c in palette),
                    headers={str(k): str(v) for k, v in headers.items()})


class ProxyCache:
    """Upstream tiles on disk, at most ``max_bytes`` (oldest dropped first), for ``ttl`` s."""

    def __init__(self, root: Path, *, max_bytes: int, ttl: float) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._lock = threading.Lock()
        self._size: int | None = None

    def path(self, basemap_id: str, tile: TileRequest, ext: str) -> Path:
        """Where one tile is kept."""
        return (self.root / basemap_id / str(tile.grid.id) / str(tile.zoom) / str(tile.row)
                / f"{tile.col}.{ext}")

    def get(self, path: Path) -> bytes | None:
        """A fresh cached tile, or None."""
        try:
            if time.time() - path.stat().st_mtime > self.ttl:
                return None
            return path.read_bytes()
        except OSError:
            return None

    def put(self, path: Path, data: bytes) -> None:
        """Keep a tile; trim the cache to 90 % of its bound when it grows past it."""
        if self.max_bytes <= 0:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{uuid.uuid4().hex}.tmp")
        scratch.write_bytes(data)
        os.replace(scratch, path)
        with self._lock:
            if self._size is None:
                self._size = self.size()
            else:
                self._size += len(data)
            if self._size > self.max_bytes:
                self._size = self._trim()

    def size(self) -> int:
        """Bytes on disk now."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def _trim(self) -> int:
        files = []
        for p in self.root.rglob("*"):
            try:
                if p.is_file():
                    stat = p.stat()
                    files.append((stat.st_mtime, stat.st_size, p))
            except OSError:
                continue
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files):
            if total <= self.max_bytes * 0.9:
                break
            p.unlink(missing_ok=True)
            total -= size
        return total


def fetch_upstream(upstream: Upstream, tile: TileRequest, *, timeout: float) -> tuple[bytes, str]:
    """One tile from the upstream service: (bytes, media type), or ``UpstreamError``."""
    request = upstream.request(tile)
    shown = _redact(request.full_url, upstream)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(MAX_TILE_BYTES + 1)
            media = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFound("the base-map service has no tile here") from None
        log.warning("upstream %s answered %s", shown, exc.code)
        raise UpstreamError(f"the base-map service answered {exc.code}") from None
    except (TimeoutError, OSError) as exc:  # URLError, socket timeouts, refused connections
        reason = getattr(exc, "reason", exc)
        slow = isinstance(reason, TimeoutError) or "timed out" in str(reason)
        log.warning("upstream %s failed after %.1f s: %s", shown, time.monotonic() - started,
                    _redact(str(reason), upstream))
        raise UpstreamError("the base-map service did not answer in time" if slow else
                            "the base-map service cannot be reached",
                            status=504 if slow else 502) from None
    if len(data) > MAX_TILE_BYTES:
        raise UpstreamError("the base-map service sent a tile too large")
    if data.startswith(PNG):
        return data, "image/png"
    if data.startswith(JPEG):
        return data, "image/jpeg"
    log.warning("upstream %s sent %s, not a PNG or JPEG tile", shown, media)
    raise UpstreamError("the base-map service sent something that is not a tile image")


def _redact(text: str, upstream: Upstream) -> str:
    key = upstream.key()
    return text.replace(key, "***") if key else text


_ERROR_TEXT = {"fi": "Taustakartta ei ole saatavilla", "sv": "Bakgrundskartan är inte tillgänglig",
               "en": "Base map unavailable"}


def error_tile(size: int = 256) -> bytes:
    """A tile that says the base map is unavailable (in fi, sv and en), dark on light grey."""
    image = Image.new("RGB", (size, size), (238, 238, 238))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size - 1, size - 1), outline=(110, 110, 110))
    try:
        font: Any = ImageFont.truetype("DejaVuSans.ttf", max(10, size // 20))
    except OSError:
        font = ImageFont.load_default()
    y = size // 2 - size // 8
    for text in _ERROR_TEXT.values():
        width = draw.textlength(text, font=font)
        draw.text(((size - width) / 2, y), text, fill=(34, 34, 34), font=font)
        y += size // 12 + 4
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def etag_of(data: bytes) -> str:
    """A strong ETag for a proxied tile."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()

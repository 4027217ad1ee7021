"""The base-map service: style files loaded once, tiles drawn from the store and cached."""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .. import __version__
from ..problems import NotFound
from ..store.base import Store
from ..tiles.cache import TileCache
from ..tiles.grids import GRIDS
from ..tiles.request import TileRequest
from ..types import LayerInfo, LayerKind
from .draw import draw_tile, web_zoom
from .model import Basemap, BasemapError, BasemapNotFound, load_basemaps
from .proxy import ProxyCache, fetch_upstream

log = logging.getLogger("webmap.basemap")

RENDERER = "2"
"""Bump when drawing changes, so cached tiles of older drawings are dropped."""


@dataclass(frozen=True)
class Snapshot:
    """A base map's state now: its version (ETag and cache key) and its present layers."""

    version: str
    layers: Mapping[str, LayerInfo]


class BasemapNotOffered(NotFound):
    """A base map whose layers are not all in the store: never drawn half (or blank)."""

    def __init__(self, basemap_id: str, missing: list[str]) -> None:
        layers = [m for m in missing if not m.startswith("its key ")]
        reasons = [m for m in missing if m.startswith("its key ")]
        if layers:
            reasons.append(f"its layer{'s' if len(layers) > 1 else ''} {', '.join(layers)} "
                           f"{'are' if len(layers) > 1 else 'is'} not imported (make one with "
                           "`webmap basemap build`)")
        super().__init__(f"base map {basemap_id!r} is not offered: {'; '.join(reasons)}")
        self.missing = missing


class BasemapService:
    """Base maps drawn from the store, kept in their own tile cache.

    The files are re-read when ``directory`` changes (``webmap basemap build`` writes new
    ones). A base map is offered only while every layer it names is in the store as a
    vector layer: on a fresh data folder the demo bases are not offered, rather than drawn as
    an empty background under an attribution for data that is not there.
    """

    def __init__(self, basemaps: Mapping[str, Basemap], store: Store, cache: TileCache, *,
                 directory: Path | None = None, proxy_cache: ProxyCache | None = None,
                 proxy_timeout: float = 5.0) -> None:
        self.store = store
        self.cache = cache
        self.proxy_cache = proxy_cache
        self.proxy_timeout = proxy_timeout
        self.directory = directory
        self._basemaps = dict(basemaps)
        self._signature = self._files() if directory is not None else ()
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()
        self._palettes: dict[str, tuple[str, tuple[str, ...]]] = {}

    def _files(self) -> tuple[tuple[str, int, int], ...]:
        if self.directory is None or not self.directory.is_dir():
            return ()
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                     for p in sorted(self.directory.glob("*.json")))

    @property
    def basemaps(self) -> dict[str, Basemap]:
        """Every parsed base-map file by id (offered or not), re-read when files change."""
        if self.directory is not None:
            with self._lock:
                try:
                    signature = self._files()
                    if signature != self._signature:
                        self._basemaps = load_basemaps(self.directory)
                        self._signature = signature
                except (OSError, BasemapError) as exc:  # keep serving what was loaded
                    log.error("base maps not reloaded: %s", exc)
        return self._basemaps

    def missing_layers(self, basemap: Basemap) -> list[str]:
        """The layers the base names that are not vector layers in the store (for a proxied
        base: why its upstream cannot be used, e.g. its key is not set)."""
        if basemap.upstream is not None:
            reason = basemap.upstream.missing()
            return [reason] if reason else []
        return [layer_id for layer_id in basemap.layer_ids
                if self._vector_layer(basemap, layer_id) is None]

    def unavailable(self) -> dict[str, list[str]]:
        """Base maps not offered, with the layers each lacks."""
        found = {b.id: self.missing_layers(b) for b in self.basemaps.values()}
        return {k: v for k, v in sorted(found.items()) if v}

    def all(self) -> list[Basemap]:
        """Every offered base map, by id."""
        basemaps = self.basemaps
        return [basemaps[k] for k in sorted(basemaps) if not self.missing_layers(basemaps[k])]

    def get(self, basemap_id: str) -> Basemap:
        """One offered base map; ``BasemapNotFound`` or ``BasemapNotOffered`` otherwise."""
        try:
            found = self.basemaps[basemap_id]
        except KeyError:
            raise BasemapNotFound(basemap_id) from None
        missing = self.missing_layers(found)
        if missing:
            raise BasemapNotOffered(basemap_id, missing)
        return found

    def palettes(self) -> dict[str, tuple[str, ...]]:
        """Each offered base map's colours as drawn (see ``drawn_palette``), by id."""
        return {b.id: self.drawn_palette(b) for b in self.all()}

    def drawn_palette(self, basemap: Basemap) -> tuple[str, ...]:
        """The colours the base actually draws where a feature would sit on it.

        Sampled on WebMercatorQuad tiles at z12, z14 and z16 at the centre of its most
        detailed layer (the one of smallest extent): the background, the area fills that
        cover at least 0.5 % of the samples and any other colour that covers 5 % (a street
        casing or a name crosses a feature; an area lies under it). This is what a style's
        contrast is judged against.
        """
        if basemap.upstream is not None:  # drawn elsewhere: the colours its file lists
            return tuple(dict.fromkeys((basemap.background, *basemap.upstream.palette)))
        snapshot = self.snapshot(basemap)
        cached = self._palettes.get(basemap.id)
        if cached is not None and cached[0] == snapshot.version:
            return cached[1]
        boxes = [info.bbox for info in snapshot.layers.values()]
        box = min(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), default=(0, 0, 0, 0))
        lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        counts: Counter[str] = Counter()
        grid = GRIDS["WebMercatorQuad"]
        for zoom in (12, 14, 16):
            cell = grid.tile(lon, lat, zoom)
            tile = TileRequest(grid=grid, zoom=zoom, row=cell.y, col=cell.x)
            image = Image.open(io.BytesIO(self.render(basemap, tile, snapshot))).convert("RGB")
            for count, colour in image.getcolors(256 * 256) or []:
                r, g, b = colour  # type: ignore[misc]
                counts[f"#{r:02x}{g:02x}{b:02x}"] += count
        total = sum(counts.values()) or 1
        fills = {basemap.background} | {item.fill for item in basemap.layers if item.fill}
        colours = [basemap.background] + [
            c for c, n in counts.most_common()
            if n / total >= (0.005 if c in fills else 0.05)]
        palette = tuple(dict.fromkeys(colours))
        self._palettes[basemap.id] = (snapshot.version, palette)
        return palette

    def snapshot(self, basemap: Basemap) -> Snapshot:
        """The layers there now and the version they make with the file's digest."""
        present: dict[str, LayerInfo] = {}
        parts = [__version__, RENDERER, basemap.digest]
        for layer_id in basemap.layer_ids:
            info = self._vector_layer(basemap, layer_id)
            if info is not None:
                present[layer_id] = info
            parts.append(f"{layer_id}={info.version if info else '-'}")
        version = hashlib.blake2b("/".join(parts).encode(), digest_size=10).hexdigest()
        return Snapshot(version, present)

    def _vector_layer(self, basemap: Basemap, layer_id: str) -> LayerInfo | None:
        """The layer's catalogue entry, or None (logged once) when it cannot be drawn."""
        try:
            info = self.store.layer(layer_id)
        except NotFound:
            reason = "is not imported"
        else:
            if info.kind is LayerKind.VECTOR:
                self._warned.discard((basemap.id, layer_id))
                return info
            reason = "is a raster layer"
        if (basemap.id, layer_id) not in self._warned:
            self._warned.add((basemap.id, layer_id))
            log.warning("base map %s names layer %s, which %s: the base is not offered",
                        basemap.id, layer_id, reason)
        return None

    def proxied(self, basemap: Basemap, tile: TileRequest) -> tuple[bytes, str]:
        """A proxied base's tile from the bounded cache or its upstream: (bytes, media type).

        Raises ``UpstreamError`` (502/504) when the upstream fails or is slower than the
        timeout; ``NotFound`` where it has no tile.
        """
        upstream = basemap.upstream
        if upstream is None:
            raise BasemapNotFound(basemap.id)
        paths = ([self.proxy_cache.path(basemap.id, tile, ext) for ext in ("png", "jpg")]
                 if self.proxy_cache else [])
        for path in paths:
            found = self.proxy_cache.get(path) if self.proxy_cache else None
            if found is not None:
                return found, "image/png" if path.suffix == ".png" else "image/jpeg"
        data, media = fetch_upstream(upstream, tile, timeout=self.proxy_timeout)
        if self.proxy_cache is not None:
            self.proxy_cache.put(paths[0 if media == "image/png" else 1], data)
        return data, media

    def tile(self, basemap: Basemap, tile: TileRequest, snapshot: Snapshot, *,
             scale: int = 1) -> bytes:
        """The PNG for one tile, from the cache or drawn and stored."""
        key = LayerInfo(id=basemap.id, kind=LayerKind.RASTER, title=basemap.id, source_crs="",
                        bbox=(-180.0, -90.0, 180.0, 90.0), feature_count=0,
                        geometry_type="Raster", version=snapshot.version, updated="")
        ext = "png" if scale == 1 else f"{scale}x.png"
        return self.cache.fetch(key, tile, ext, lambda: self.render(basemap, tile, snapshot,
                                                                     scale=scale))

    @staticmethod
    def visible_layers(basemap: Basemap, tile: TileRequest, snapshot: Snapshot) -> list[str]:
        """The present layers some pass draws at this tile's scale: the MVTs to ask for."""
        zoom = web_zoom(tile)
        wanted = {item.layer for item in basemap.layers
                  if item.min_zoom <= zoom <= item.max_zoom and item.layer in snapshot.layers}
        return [layer_id for layer_id in basemap.layer_ids if layer_id in wanted]

    def render(self, basemap: Basemap, tile: TileRequest, snapshot: Snapshot, *,
               scale: int = 1) -> bytes:
        """Draw one tile without the cache (the benchmark measures this)."""
        sources: dict[str, bytes] = {}
        for layer_id in self.visible_layers(basemap, tile, snapshot):
            try:
                sources[layer_id] = self.store.vector_tile(snapshot.layers[layer_id], tile)
            except NotFound:  # removed since the snapshot: draw the rest
                log.warning("base map %s: layer %s vanished while drawing", basemap.id,
                            layer_id)
        return draw_tile(basemap, sources, tile, scale=scale)

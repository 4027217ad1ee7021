"""The base-map service: style files loaded once, tiles drawn from the store and cached."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from .. import __version__
from ..problems import NotFound
from ..store.base import Store
from ..tiles.cache import TileCache
from ..tiles.request import TileRequest
from ..types import LayerInfo, LayerKind
from .draw import draw_tile, web_zoom
from .model import Basemap, BasemapNotFound

log = logging.getLogger("webmap.basemap")

RENDERER = "2"
"""Bump when drawing changes, so cached tiles of older drawings are dropped."""


@dataclass(frozen=True)
class Snapshot:
    """A base map's state now: its version (ETag and cache key) and its present layers."""

    version: str
    layers: Mapping[str, LayerInfo]


class BasemapService:
    """Base maps loaded once, drawn from the store, kept in their own tile cache."""

    def __init__(self, basemaps: Mapping[str, Basemap], store: Store, cache: TileCache) -> None:
        self.basemaps = dict(basemaps)
        self.store = store
        self.cache = cache
        self._warned: set[tuple[str, str]] = set()

    def all(self) -> list[Basemap]:
        """Every base map, by id."""
        return [self.basemaps[k] for k in sorted(self.basemaps)]

    def get(self, basemap_id: str) -> Basemap:
        """One base map; ``BasemapNotFound`` otherwise."""
        try:
            return self.basemaps[basemap_id]
        except KeyError:
            raise BasemapNotFound(basemap_id) from None

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
            log.warning("base map %s names layer %s, which %s: drawn without it",
                        basemap.id, layer_id, reason)
        return None

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

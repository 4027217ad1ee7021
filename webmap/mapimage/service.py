"""Map images of a published map: its base, its styled layers and an overlay, as PNG or PDF.

Made for many images in a row (a report draws one per comment): a layer is read from the
store once per version and output CRS and kept with a spatial index, base tiles come from
the base-map service's tile cache (drawn once, shared by every image and by the widget), and
nothing goes over HTTP.
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cairocffi as cairo
import numpy as np
import shapely

from .. import crs
from ..basemap import BasemapService
from ..maps.model import MapDefinition
from ..problems import InvalidParameter, NotFound
from ..store.base import Store
from ..styles import StyleCatalogue
from ..tiles.grids import GRID_EPSG, GRIDS
from ..tiles.request import TileRequest
from ..types import ItemQuery, LayerInfo, LayerKind
from .draw import (
    Marker,
    View,
    draw_attribution,
    draw_class,
    draw_markers,
    draw_north_arrow,
    draw_scale_bar,
    draw_tiles,
    rgb,
)

Format = Literal["png", "pdf"]
MAX_SIDE_PX = 4096
"""OGC API - Maps servers may cap the size; larger asks answer 400."""
PAGE_SIZE = 10_000
LAYER_CACHE = 16
"""Loaded layers kept (per version and CRS)."""
ZOOM_SLACK = 1.3
"""A base level whose cells are at most this much coarser than the image's pixels is used
(upscaled a little) rather than the next, four times as many tiles."""
PDF_PT_PER_PX = 0.75
"""A PDF page has CSS px at 96 dpi: 1 px = 0.75 pt."""


def offered_crs() -> tuple[str, ...]:
    """Output CRSs: those of the tile grids, in which the base can be drawn."""
    return tuple(GRID_EPSG.values())


@dataclass(frozen=True)
class LoadedLayer:
    """A layer's features in one CRS with an index, and the values that pick their class."""

    geometries: np.ndarray
    values: list[object]
    tree: shapely.STRtree


class MapImageService:
    """Draws map images from the store, the styles and the base maps."""

    def __init__(self, store: Store, basemaps: BasemapService, styles: StyleCatalogue) -> None:
        self.store = store
        self.basemaps = basemaps
        self.styles = styles
        self._loaded: OrderedDict[tuple[str, str, str, str | None], LoadedLayer] = \
            OrderedDict()
        self._lock = threading.Lock()

    # -- layers --------------------------------------------------------------------------
    def _load(self, info: LayerInfo, code: str, prop: str | None) -> LoadedLayer:
        key = (info.id, info.version, code, prop)
        with self._lock:
            found = self._loaded.get(key)
            if found is not None:
                self._loaded.move_to_end(key)
                return found
        geoms: list[Any] = []
        values: list[object] = []
        after: int | None = None
        while True:
            page = self.store.items(info, ItemQuery(limit=PAGE_SIZE, after=after, count=False))
            geoms.extend(page.geometries)
            values.extend(p.get(prop) if prop else None for p in page.properties)
            if page.next_after is None:
                break
            after = page.next_after
        array = np.asarray(geoms, dtype=object)
        if code != "CRS84" and len(array):
            array = crs.transform_geometries(array, "CRS84", code)
        loaded = LoadedLayer(array, values, shapely.STRtree(array))
        with self._lock:
            self._loaded[key] = loaded
            while len(self._loaded) > LAYER_CACHE:
                self._loaded.popitem(last=False)
        return loaded

    def _layers(self, ctx: cairo.Context, definition: MapDefinition, view: View,
                scale: float) -> list[str]:
        """Draw the map's layers bottom to top; returns their attributions."""
        box = shapely.box(*view.bbox).buffer(view.resolution * 20)
        attributions = []
        for item in definition.layers:
            style = self.styles.get(item.style)
            try:
                info = self.store.layer(item.layer)
            except NotFound:
                continue
            if style is None or info.kind is not LayerKind.VECTOR:
                continue
            if info.attribution:
                attributions.append(info.attribution)
            loaded = self._load(info, view.code, style.property)
            hits = np.sort(loaded.tree.query(box))
            groups: dict[int, list[Any]] = {}
            for index in hits:
                cls = style.class_for(loaded.values[index])
                if cls is not None:
                    groups.setdefault(style.classes.index(cls), []).append(
                        loaded.geometries[index])
            for class_index in sorted(groups):
                draw_class(ctx, view, style, style.classes[class_index], groups[class_index],
                           scale=scale)
        return attributions

    # -- base ----------------------------------------------------------------------------
    def _base(self, ctx: cairo.Context, definition: MapDefinition, view: View) -> list[str]:
        """Paint the base under the layers; returns its attribution."""
        base = definition.base
        background = "#ffffff"
        tiles: list[tuple[bytes, tuple[float, float, float, float]]] = []
        attribution = [base.attribution] if base.attribution else []
        grid_id = next((g for g, code in GRID_EPSG.items() if code == view.code), None)
        if base.kind == "rendered" and base.basemap:
            try:
                basemap = self.basemaps.get(base.basemap)
            except NotFound:
                basemap = None
            if basemap is not None:
                background = basemap.background
                if basemap.attribution and basemap.attribution not in attribution:
                    attribution.append(basemap.attribution)
                if grid_id is not None and basemap.upstream is None:
                    snapshot = self.basemaps.snapshot(basemap)
                    tiles = [(self.basemaps.tile(basemap, tile, snapshot), bounds)
                             for tile, bounds in self._cover(grid_id, view)]
        elif base.kind == "layer" and base.layer and grid_id is not None:
            try:
                info = self.store.layer(base.layer)
            except NotFound:
                info = None
            if info is not None and info.kind is LayerKind.RASTER:
                if info.attribution:
                    attribution.append(info.attribution)
                tiles = [(self.store.raster_tile(info, tile), bounds)
                         for tile, bounds in self._cover(grid_id, view)]
        ctx.set_source_rgb(*rgb(background))
        ctx.paint()
        draw_tiles(ctx, view, tiles)
        return attribution

    @staticmethod
    def _cover(grid_id: str, view: View
               ) -> list[tuple[TileRequest, tuple[float, float, float, float]]]:
        """The grid's tiles covering the view at the level nearest its resolution."""
        tms = GRIDS[grid_id]
        zoom = tms.minzoom
        for level in range(tms.minzoom, tms.maxzoom + 1):
            zoom = level
            if tms.matrix(level).cellSize <= view.resolution * ZOOM_SLACK:
                break
        minx, miny, maxx, maxy = view.bbox
        span = (maxx - minx) * 1e-9
        first = tms._tile(minx + span, maxy - span, zoom)
        last = tms._tile(maxx - span, miny + span, zoom)
        matrix = tms.matrix(zoom)
        found = []
        for row in range(max(first.y, 0), min(last.y, matrix.matrixHeight - 1) + 1):
            for col in range(max(first.x, 0), min(last.x, matrix.matrixWidth - 1) + 1):
                tile = TileRequest(grid=tms, zoom=zoom, row=row, col=col)
                b = tms.xy_bounds(tile.tile)
                found.append((tile, (b.left, b.bottom, b.right, b.top)))
        return found

    # -- the image -----------------------------------------------------------------------
    def render(self, definition: MapDefinition, view: View, *, markers: Sequence[Marker] = (),
               fmt: Format = "png", furniture: bool = True) -> bytes:
        """The image of the map in ``view`` with ``markers`` on top, as PNG or a PDF page."""
        out = io.BytesIO()
        surface: cairo.Surface
        if fmt == "pdf":
            surface = cairo.PDFSurface(out, view.width * PDF_PT_PER_PX,
                                       view.height * PDF_PT_PER_PX)
        else:
            surface = cairo.ImageSurface(cairo.FORMAT_RGB24, view.width, view.height)
        ctx = cairo.Context(surface)
        if fmt == "pdf":
            ctx.scale(PDF_PT_PER_PX, PDF_PT_PER_PX)
        ctx.rectangle(0, 0, view.width, view.height)
        ctx.clip()
        scale = 1.0
        attribution = self._base(ctx, definition, view)
        attribution += self._layers(ctx, definition, view, scale)
        draw_markers(ctx, view, markers, scale=scale)
        if furniture:
            draw_scale_bar(ctx, view, scale=scale)
            draw_north_arrow(ctx, view, scale=scale)
            draw_attribution(ctx, view, " | ".join(dict.fromkeys(attribution)), scale=scale)
        if fmt == "pdf":
            surface.finish()
        else:
            surface.write_to_png(out)
        return out.getvalue()


def fit_view(code: str, geometry: Any, *, width: int, height: int, min_span_m: float = 300.0,
             margin: float = 0.25) -> View:
    """A view of ``width`` × ``height`` around a geometry (in ``code``), at least
    ``min_span_m`` across, keeping the pixels square."""
    minx, miny, maxx, maxy = geometry.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    stretch = 1.0
    if code == "EPSG:3857":  # WebMercator metres grow towards the poles
        lat = crs.transformer(code, "CRS84").transform(cx, cy)[1]
        stretch = 1 / max(math.cos(math.radians(lat)), 0.05)
    span_x = max((maxx - minx) * (1 + 2 * margin), min_span_m * stretch)
    span_y = max((maxy - miny) * (1 + 2 * margin), min_span_m * stretch * height / width)
    resolution = max(span_x / width, span_y / height)
    half_w, half_h = resolution * width / 2, resolution * height / 2
    return View(code, (cx - half_w, cy - half_h, cx + half_w, cy + half_h), width, height)


def check_size(width: int, height: int) -> None:
    """Both sides 1…``MAX_SIDE_PX``; ``InvalidParameter`` naming the side otherwise."""
    for name, value in (("width", width), ("height", height)):
        if not 1 <= value <= MAX_SIDE_PX:
            raise InvalidParameter(name, f"{name} must be 1 to {MAX_SIDE_PX} px, got {value}")

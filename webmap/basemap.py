"""Offline base maps: ``styles/basemaps/<id>.json`` drawn as PNG tiles from the store's MVTs.

The map widget must work without the internet, so webmap draws its own base map from open
vector layers it holds. Each tile is drawn from the same vector tiles the tile API serves
(so both backends share this code), on a 1024-px canvas reduced to 256 (or 512) px for
antialiasing, and kept in a ``TileCache`` keyed by the style file's digest and the versions
of its layers: editing the style or replacing a layer never serves an old picture.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
from PIL import Image, ImageDraw

from . import __version__
from .grids import GRIDS
from .problems import NotFound
from .store.base import Store, TileRequest
from .store.cache import TileCache
from .types import LayerInfo, LayerKind

log = logging.getLogger("webmap.basemap")
BASEMAP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
TILE_PX = 256
"""Widths in a base-map file are CSS px on a tile of this size."""
CANVAS_PX = 1024
"""Side of the drawing canvas: 4× supersampling for 256-px tiles, 2× for 512-px ones."""
RENDERER = "1"
"""Bump when drawing changes, so cached tiles of older drawings are dropped."""
_WMQ_CELL0 = GRIDS["WebMercatorQuad"].matrix(0).cellSize
_LAYER_KEYS = {"layer", "fill", "stroke", "stroke_width", "min_zoom", "max_zoom", "where"}
_TOP_KEYS = {"id", "title", "attribution", "background", "layers"}

RGB = tuple[int, int, int]
Ring = list[float]
"""A ring or line as flat canvas pixels: x0, y0, x1, y1, …"""


class BasemapError(ValueError):
    """A base-map file cannot be used; the message names the file and the field."""


class BasemapNotFound(NotFound):
    """No base map with this id."""

    def __init__(self, basemap_id: str) -> None:
        super().__init__(f"there is no base map {basemap_id!r}")


@dataclass(frozen=True)
class Where:
    """A filter on one decoded property: not null (``values`` None) or one of ``values``."""

    property: str
    values: frozenset[object] | None = None

    def matches(self, properties: Mapping[str, Any]) -> bool:
        """True when the feature passes (MVTs leave null properties out)."""
        value = properties.get(self.property)
        if self.values is None:
            return value is not None
        return value in self.values

    def to_json(self) -> dict[str, Any]:
        """As written in the file."""
        if self.values is None:
            return {"property": self.property, "not_null": True}
        return {"property": self.property, "in": sorted(self.values, key=str)}


@dataclass(frozen=True, kw_only=True)
class BasemapLayer:
    """One drawing pass over a store layer: polygon fill, outline or line stroke."""

    layer: str
    fill: str | None = None
    stroke: str | None = None
    stroke_width: float = 1.0
    min_zoom: int = 0
    max_zoom: int = 24
    """Zoom bounds are WebMercatorQuad levels; other grids compare at the same ground scale."""
    where: Where | None = None

    def to_json(self) -> dict[str, Any]:
        """As written in the file, with defaults filled in."""
        return {"layer": self.layer, "fill": self.fill, "stroke": self.stroke,
                "stroke_width": self.stroke_width, "min_zoom": self.min_zoom,
                "max_zoom": self.max_zoom,
                "where": self.where.to_json() if self.where else None}


@dataclass(frozen=True, kw_only=True)
class Basemap:
    """A parsed base-map file; ``digest`` changes whenever the file does."""

    id: str
    title: Mapping[str, str]
    attribution: str
    background: str
    layers: tuple[BasemapLayer, ...]
    digest: str

    @property
    def layer_ids(self) -> tuple[str, ...]:
        """The store layers drawn, each once, in first-use order."""
        return tuple(dict.fromkeys(item.layer for item in self.layers))


def _colour(value: object, where: str) -> str:
    if not isinstance(value, str) or not HEX_COLOUR.match(value):
        raise BasemapError(f"{where}: give a colour as #rrggbb, got {value!r}")
    return value.lower()


def _number(value: object, where: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BasemapError(f"{where}: give a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _where(value: object, where: str) -> Where | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("property"), str):
        raise BasemapError(f"{where}: give null or {{\"property\": name, \"not_null\": true}} "
                           "or {\"property\": name, \"in\": [values]}")
    extra = set(value) - {"property", "not_null", "in"}
    if extra or ("in" in value) == ("not_null" in value):
        raise BasemapError(f"{where}: give \"property\" and exactly one of \"not_null\", \"in\"")
    if "not_null" in value:
        if value["not_null"] is not True:
            raise BasemapError(f"{where}.not_null: only true is meaningful")
        return Where(value["property"])
    values = value["in"]
    if not isinstance(values, list) or not values or not all(
            isinstance(v, str | int | float) for v in values):
        raise BasemapError(f"{where}.in: give a list of strings or numbers")
    return Where(value["property"], frozenset(values))


def _layer(value: object, where: str) -> BasemapLayer:
    if not isinstance(value, Mapping) or not isinstance(value.get("layer"), str):
        raise BasemapError(f"{where}: give an object with a \"layer\" id")
    unknown = sorted(set(value) - _LAYER_KEYS)
    if unknown:
        raise BasemapError(f"{where}: unknown key {unknown[0]!r}; use {sorted(_LAYER_KEYS)}")
    fill = None if value.get("fill") is None else _colour(value["fill"], f"{where}.fill")
    stroke = None if value.get("stroke") is None else _colour(value["stroke"],
                                                              f"{where}.stroke")
    if fill is None and stroke is None:
        raise BasemapError(f"{where}: give a fill, a stroke or both")
    min_zoom = int(_number(value.get("min_zoom", 0), f"{where}.min_zoom", low=0, high=30))
    max_zoom = int(_number(value.get("max_zoom", 24), f"{where}.max_zoom", low=0, high=30))
    if min_zoom > max_zoom:
        raise BasemapError(f"{where}: min_zoom {min_zoom} is above max_zoom {max_zoom}")
    return BasemapLayer(
        layer=value["layer"], fill=fill, stroke=stroke,
        stroke_width=_number(value.get("stroke_width", 1), f"{where}.stroke_width",
                             low=0.1, high=64),
        min_zoom=min_zoom, max_zoom=max_zoom, where=_where(value.get("where"), f"{where}.where"))


def parse_basemap(data: object, *, basemap_id: str, source: str, digest: str) -> Basemap:
    """Validate a decoded base-map file; errors name ``source`` and the field."""
    if not BASEMAP_ID.match(basemap_id):
        raise BasemapError(f"{source}: a base-map id (the file name) is 1–64 lower-case "
                           "letters, digits, '_' or '-'")
    if not isinstance(data, Mapping):
        raise BasemapError(f"{source}: a base map is a JSON object")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise BasemapError(f"{source}: unknown key {unknown[0]!r}; use {sorted(_TOP_KEYS)}")
    if data.get("id", basemap_id) != basemap_id:
        raise BasemapError(f"{source}.id: {data['id']!r} differs from the file name")
    title = data.get("title")
    if not isinstance(title, Mapping) or not title or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in title.items()):
        raise BasemapError(f"{source}.title: give {{\"fi\": …, \"sv\": …, \"en\": …}}")
    attribution = data.get("attribution", "")
    if not isinstance(attribution, str):
        raise BasemapError(f"{source}.attribution: give a string")
    layers = data.get("layers", [])
    if not isinstance(layers, list):
        raise BasemapError(f"{source}.layers: give a list, bottom layer first")
    return Basemap(id=basemap_id, title=dict(title), attribution=attribution,
                   background=_colour(data.get("background"), f"{source}.background"),
                   layers=tuple(_layer(item, f"{source}.layers[{i}]")
                                for i, item in enumerate(layers)),
                   digest=digest)


def load_basemaps(directory: Path) -> dict[str, Basemap]:
    """Every ``*.json`` in ``directory`` by id (none if it is missing); a bad file raises."""
    basemaps: dict[str, Basemap] = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        raw = path.read_bytes()
        source = f"{directory.name}/{path.name}"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise BasemapError(f"{source}: not JSON ({exc})") from None
        basemaps[path.stem] = parse_basemap(
            data, basemap_id=path.stem, source=source,
            digest=hashlib.blake2b(raw, digest_size=8).hexdigest())
    return basemaps


# -- drawing ------------------------------------------------------------------------------

def _rgb(colour: str) -> RGB:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def web_zoom(tile: TileRequest) -> int:
    """The WebMercatorQuad level of the same ground scale at the tile's centre."""
    if tile.grid.id == "WebMercatorQuad":
        return tile.zoom
    bounds = tile.grid.bounds(tile.tile)
    latitude = math.radians((bounds.bottom + bounds.top) / 2)
    cell = tile.grid.matrix(tile.zoom).cellSize
    return math.floor(math.log2(_WMQ_CELL0 * math.cos(latitude) / cell) + 0.5)


@dataclass(frozen=True)
class _Shapes:
    """One decoded layer as canvas pixels: polygons (exterior, holes…) and lines."""

    polygons: list[tuple[Mapping[str, Any], list[Ring]]]
    lines: list[tuple[Mapping[str, Any], Ring]]


def _pixels(coordinates: Sequence[Sequence[float]], unit_px: float) -> Ring:
    flat: Ring = (np.asarray(coordinates, dtype=np.float64) * unit_px).ravel().tolist()
    return flat


def decode_shapes(data: bytes, wanted: Callable[[Mapping[str, Any]], bool]) -> _Shapes:
    """The ``wanted`` features' rings and lines in canvas pixels (points are not drawn)."""
    shapes = _Shapes([], [])
    if not data:
        return shapes
    for layer in mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}
                                           ).values():
        unit_px = CANVAS_PX / float(layer.get("extent", 4096))
        for feature in layer["features"]:
            geometry, properties = feature["geometry"], feature["properties"]
            if not wanted(properties):
                continue
            kind, coordinates = geometry["type"], geometry["coordinates"]
            if kind in {"Polygon", "MultiPolygon"}:
                for polygon in [coordinates] if kind == "Polygon" else coordinates:
                    rings = [_pixels(ring, unit_px) for ring in polygon if len(ring) >= 3]
                    if rings:
                        shapes.polygons.append((properties, rings))
            elif kind in {"LineString", "MultiLineString"}:
                for line in [coordinates] if kind == "LineString" else coordinates:
                    if len(line) >= 2:
                        shapes.lines.append((properties, _pixels(line, unit_px)))
    return shapes


def _fill(canvas: Image.Image, draw: ImageDraw.ImageDraw, polygons: Iterator[list[Ring]],
          colour: RGB) -> None:
    """Fill polygons; holes go through the polygon's own mask, so they never erase an island."""
    for rings in polygons:
        if len(rings) == 1:
            draw.polygon(rings[0], fill=colour)
            continue
        xs, ys = rings[0][0::2], rings[0][1::2]
        left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
        right = min(CANVAS_PX, math.ceil(max(xs)) + 1)
        bottom = min(CANVAS_PX, math.ceil(max(ys)) + 1)
        if right <= left or bottom <= top:
            continue
        mask = Image.new("L", (right - left, bottom - top), 0)
        mask_draw = ImageDraw.Draw(mask)
        for i, ring in enumerate(rings):
            shifted = [v - (left if j % 2 == 0 else top) for j, v in enumerate(ring)]
            mask_draw.polygon(shifted, fill=0 if i else 255)
        canvas.paste(colour, (left, top, right, bottom), mask)


def _stroke(draw: ImageDraw.ImageDraw, lines: Iterator[Ring], colour: RGB,
            width_px: float) -> None:
    """Wide lines with round joins and round ends (Pillow's own ends are square)."""
    width = max(1, round(width_px))
    radius = width / 2
    for line in lines:
        draw.line(line, fill=colour, width=width, joint="curve" if width > 2 else None)
        if width > 2:
            for x, y in ((line[0], line[1]), (line[-2], line[-1])):
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)


def _any_of(filters: Sequence[Where | None]) -> Callable[[Mapping[str, Any]], bool]:
    """A test passing features any filter passes (None passes all)."""
    if any(f is None for f in filters):
        return lambda _: True
    tests = [f.matches for f in filters if f is not None]
    return lambda properties: any(test(properties) for test in tests)


def draw_tile(basemap: Basemap, sources: Mapping[str, bytes], tile: TileRequest, *,
              scale: int = 1) -> bytes:
    """The base map's PNG for one tile from each layer's MVT (a missing layer is skipped)."""
    zoom = web_zoom(tile)
    canvas = Image.new("RGB", (CANVAS_PX, CANVAS_PX), _rgb(basemap.background))
    draw = ImageDraw.Draw(canvas)
    visible = [item for item in basemap.layers
               if item.layer in sources and item.min_zoom <= zoom <= item.max_zoom]
    decoded: dict[str, _Shapes] = {}
    for item in visible:
        if item.layer not in decoded:
            filters = [other.where for other in visible if other.layer == item.layer]
            decoded[item.layer] = decode_shapes(sources[item.layer], _any_of(filters))
        shapes = decoded[item.layer]
        test = _any_of([item.where])
        if item.fill:
            _fill(canvas, draw, (rings for props, rings in shapes.polygons if test(props)),
                  _rgb(item.fill))
        if item.stroke:
            width_px = item.stroke_width * CANVAS_PX / TILE_PX
            outlines = (ring + ring[:2] if ring[:2] != ring[-2:] else ring
                        for props, rings in shapes.polygons if test(props) for ring in rings)
            lines = (line for props, line in shapes.lines if test(props))
            _stroke(draw, outlines, _rgb(item.stroke), width_px)
            _stroke(draw, lines, _rgb(item.stroke), width_px)
    image = canvas.reduce(CANVAS_PX // (TILE_PX * scale))
    return encode_png(image)


def encode_png(image: Image.Image) -> bytes:
    """A palette PNG (half RGB's size): exact to 256 colours, then median cut (edges only move)."""
    rgb = np.asarray(image, dtype=np.uint32)
    keys = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    colours, index = np.unique(keys, return_inverse=True)
    if colours.size <= 256:  # Pillow's own palette mapping is approximate: map exactly here
        image = Image.fromarray(index.reshape(keys.shape).astype(np.uint8), mode="P")
        image.putpalette(np.column_stack((colours >> 16, (colours >> 8) & 255, colours & 255)
                                         ).astype(np.uint8).tobytes())
    else:
        image = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


# -- the service ---------------------------------------------------------------------------

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
                sources[layer_id] = self.store.vector_tile(layer_id, tile)
            except NotFound:  # removed since the snapshot: draw the rest
                log.warning("base map %s: layer %s vanished while drawing", basemap.id,
                            layer_id)
        return draw_tile(basemap, sources, tile, scale=scale)

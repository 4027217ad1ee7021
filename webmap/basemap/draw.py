"""Drawing a base-map tile from MVTs with Pillow, supersampled and saved as a palette PNG."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import numpy as np
from PIL import Image, ImageDraw

from ..tiles.grids import GRIDS
from ..tiles.request import TileRequest
from .model import Basemap, Where

TILE_PX = 256
"""Widths in a base-map file are CSS px on a tile of this size."""
CANVAS_PX = 1024
"""Side of the drawing canvas: 4× supersampling for 256-px tiles, 2× for 512-px ones."""
_WMQ_CELL0 = GRIDS["WebMercatorQuad"].matrix(0).cellSize

RGB = tuple[int, int, int]
Ring = list[float]
"""A ring or line as flat canvas pixels: x0, y0, x1, y1, …"""


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

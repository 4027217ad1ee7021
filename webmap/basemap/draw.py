"""Drawing a base-map tile with Mapnik from the store's MVTs, saved as a palette PNG.

Each visible pass of the base map becomes a Mapnik layer and style (generated XML, cached per
base map, zoom band and scale); its features come from the store layer's vector tile for the
same tile, so both storage backends and every grid share this code and the tile's own
generalisation. Mapnik draws fills, strokes and labels: text is placed along streets or at
places, with a halo, never over another label (Mapnik's collision detector), and never across
the tile's edge (``avoid-edges``), so a neighbouring tile never shows half a name.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import mapbox_vector_tile
import numpy as np
import orjson
from PIL import Image

from ..tiles.grids import GRIDS
from ..tiles.request import TileRequest
from .engine import load_mapnik
from .model import Basemap, BasemapLayer, Where

TILE_PX = 256
"""Widths and text sizes in a base-map file are CSS px on a tile of this size."""
EXTENT = 4096
"""MVT coordinates are drawn in a 0…EXTENT square (y up), whatever the tile's grid."""
FONT = "DejaVu Sans Book"
FONT_BOLD = "DejaVu Sans Bold"
_SRS = "+proj=merc +a=6378137 +b=6378137 +units=m +no_defs"
"""Source and map share this SRS, so Mapnik never reprojects: coordinates are tile units."""
_WMQ_CELL0 = GRIDS["WebMercatorQuad"].matrix(0).cellSize
_LOCK = threading.Lock()


def web_zoom(tile: TileRequest) -> int:
    """The WebMercatorQuad level of the same ground scale at the tile's centre."""
    if tile.grid.id == "WebMercatorQuad":
        return tile.zoom
    bounds = tile.grid.bounds(tile.tile)
    latitude = math.radians((bounds.bottom + bounds.top) / 2)
    cell = tile.grid.matrix(tile.zoom).cellSize
    return math.floor(math.log2(_WMQ_CELL0 * math.cos(latitude) / cell) + 0.5)


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _filter(where: Where | None) -> str:
    """A Mapnik filter expression for one pass."""
    if where is None:
        return ""
    name = f"[{where.property}]" if where.property.isidentifier() else \
        f"[{where.property.replace(']', '')}]"
    if where.values is None:
        return f"<Filter>{escape(f'{name} != null')}</Filter>"
    tests = " or ".join(f"{name} = {_literal(v)}" for v in sorted(where.values, key=str))
    return f"<Filter>{escape(tests)}</Filter>"


def _symbolizers(item: BasemapLayer, scale: int) -> str:
    parts = []
    if item.fill:
        parts.append(f'<PolygonSymbolizer fill="{item.fill}" gamma="0.7"/>')
    if item.stroke:
        parts.append(f'<LineSymbolizer stroke="{item.stroke}" '
                     f'stroke-width="{item.stroke_width * scale:g}" stroke-linejoin="round" '
                     f'stroke-linecap="round"/>')
    label = item.label
    if label is not None:
        placement = "line" if label.placement == "line" else "interior"
        repeat = (f' spacing="{label.spacing * scale:g}" max-char-angle-delta="30"'
                  if label.placement == "line" else
                  f' wrap-width="{90 * scale}" wrap-before="true"')
        parts.append(
            f'<TextSymbolizer face-name={quoteattr(FONT_BOLD if label.bold else FONT)} '
            f'size="{label.size * scale:g}" fill="{label.colour}" halo-fill="{label.halo}" '
            f'halo-radius="{1.5 * scale:g}" placement="{placement}" avoid-edges="true" '
            f'margin="{4 * scale}" repeat-distance="{160 * scale}" minimum-padding="{2 * scale}"'
            f'{repeat}>'
            f'[{label.property}]</TextSymbolizer>')
    return "".join(parts)


_XML: dict[tuple[str, str, tuple[int, ...], int], str] = {}


def map_xml(basemap: Basemap, passes: tuple[int, ...], scale: int) -> str:
    """The Mapnik map for these passes of the base map (indexes into ``basemap.layers``)."""
    key = (basemap.id, basemap.digest, passes, scale)
    found = _XML.get(key)
    if found is None:
        if len(_XML) > 256:
            _XML.clear()
        found = _XML[key] = _map_xml(basemap, passes, scale)
    return found


def _map_xml(basemap: Basemap, passes: tuple[int, ...], scale: int) -> str:
    styles, layers = [], []
    for index in passes:
        item = basemap.layers[index]
        styles.append(f'<Style name="p{index}"><Rule>{_filter(item.where)}'
                      f'{_symbolizers(item, scale)}</Rule></Style>')
        layers.append(f'<Layer name="p{index}" srs="{_SRS}"><StyleName>p{index}</StyleName>'
                      "</Layer>")
    return (f'<Map srs="{_SRS}" background-color="{basemap.background}" buffer-size="0">'
            + "".join(styles) + "".join(layers) + "</Map>")


def _datasource(mapnik: Any, data: bytes) -> Any:
    """A Mapnik memory datasource of an MVT's features in 0…EXTENT coordinates, y up."""
    source = mapnik.MemoryDatasource()
    if not data:
        return source
    context = mapnik.Context()
    fid = 0
    for layer in mapbox_vector_tile.decode(data).values():
        unit = EXTENT / float(layer.get("extent", 4096))
        for feature in layer["features"]:
            geometry = feature["geometry"]
            if unit != 1:
                geometry = _scaled(geometry, unit)
            properties = {k: v for k, v in feature["properties"].items()
                          if isinstance(v, str | int | float)}
            fid += 1
            source.add_feature(mapnik.Feature.from_geojson(orjson.dumps(
                {"type": "Feature", "id": fid, "geometry": geometry,
                 "properties": properties}).decode(), context))
    return source


def _scaled(geometry: Mapping[str, Any], unit: float) -> dict[str, Any]:
    def scale(value: Any) -> Any:
        if isinstance(value, list | tuple) and value and isinstance(value[0], int | float):
            return [value[0] * unit, value[1] * unit]
        return [scale(v) for v in value]
    return {"type": geometry["type"], "coordinates": scale(geometry["coordinates"])}


def visible_passes(basemap: Basemap, tile: TileRequest,
                   present: Sequence[str] | None = None) -> tuple[int, ...]:
    """Indexes of the passes drawn at this tile's scale (of layers ``present``, if given)."""
    zoom = web_zoom(tile)
    return tuple(i for i, item in enumerate(basemap.layers)
                 if item.min_zoom <= zoom <= item.max_zoom
                 and (present is None or item.layer in present))


def palette_of(basemap: Basemap) -> list[str]:
    """Every colour the base map's file names: they stay exact in the PNG."""
    colours = [basemap.background]
    for item in basemap.layers:
        colours += [c for c in (item.fill, item.stroke) if c]
        if item.label:
            colours += [item.label.colour, item.label.halo]
    return list(dict.fromkeys(colours))


def draw_tile(basemap: Basemap, sources: Mapping[str, bytes], tile: TileRequest, *,
              scale: int = 1) -> bytes:
    """The base map's PNG for one tile from each layer's MVT (a missing layer is skipped)."""
    image = draw_image(basemap, sources, tile, scale=scale)
    return encode_png(image, keep=palette_of(basemap))


def draw_image(basemap: Basemap, sources: Mapping[str, bytes], tile: TileRequest, *,
               scale: int = 1) -> Image.Image:
    """The tile as an RGB image, drawn by Mapnik."""
    mapnik = load_mapnik()
    passes = visible_passes(basemap, tile, list(sources))
    size = TILE_PX * scale
    with _LOCK:  # loading XML touches Mapnik's shared font and plugin registries
        canvas = mapnik.Map(size, size)
        mapnik.load_map_from_string(canvas, map_xml(basemap, passes, scale))
    shared: dict[str, Any] = {}
    for layer, index in zip(canvas.layers, passes, strict=True):
        layer_id = basemap.layers[index].layer
        if layer_id not in shared:
            shared[layer_id] = _datasource(mapnik, sources[layer_id])
        layer.datasource = shared[layer_id]
    canvas.zoom_to_box(mapnik.Box2d(0, 0, EXTENT, EXTENT))
    out = mapnik.Image(size, size)
    mapnik.render(canvas, out)
    return Image.frombuffer("RGBA", (size, size), out.tostring(), "raw", "RGBA", 0, 1
                            ).convert("RGB")


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def encode_png(image: Image.Image, *, keep: Sequence[str] = ()) -> bytes:
    """A palette PNG (half RGB's size): exact up to 256 colours; beyond, the ``keep`` colours
    stay exact and the rest (antialiased edges and text) map to their nearest of 256."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint32)
    keys = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    colours, index = np.unique(keys, return_inverse=True)
    index = index.reshape(keys.shape)
    unique = np.column_stack((colours >> 16, (colours >> 8) & 255, colours & 255))
    if colours.size > 256:
        fixed = np.array([_rgb(c) for c in keep][:128], dtype=np.int64).reshape(-1, 3)
        budget = 256 - len(fixed)
        reduced = image.convert("RGB").quantize(budget, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE).getpalette() or []
        extra = np.asarray(reduced[:budget * 3], dtype=np.int64).reshape(-1, 3)
        palette = np.vstack((fixed, extra)) if len(fixed) else extra
        nearest = np.empty(len(unique), dtype=np.int64)
        for start in range(0, len(unique), 4096):  # nearest palette entry per colour
            chunk = unique[start:start + 4096].astype(np.int64)
            distance = ((chunk[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
            nearest[start:start + 4096] = distance.argmin(axis=1)
        index, unique = nearest[index], palette
    out_image = Image.fromarray(index.astype(np.uint8), mode="P")
    out_image.putpalette(unique.astype(np.uint8).tobytes())
    out = io.BytesIO()
    out_image.save(out, format="PNG", compress_level=6)
    return out.getvalue()

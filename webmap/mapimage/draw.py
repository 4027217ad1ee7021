"""Drawing a map image with cairo: base tiles, styled layers, overlay, scale bar, north arrow.

One drawing routine paints onto a cairo context, so a PNG (an image surface) and a PDF page
(a vector surface: layers, overlay and furniture stay vectors) come from the same code. The
style numbers are the ones ``webmap.styles`` defaults and the widget draws (``StyleClass``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cairocffi as cairo
import numpy as np
import shapely
from pyproj import Geod

from .. import crs
from ..styles.model import Style, StyleClass

FONT = "DejaVu Sans"
OVERLAY = "#c8102e"
"""The overlay's colour (a strong red, as a case-file pin), with a white casing."""
HALO = "#ffffff"
_GEOD = Geod(ellps="GRS80")


@dataclass(frozen=True)
class View:
    """What the image shows: a box in ``code`` (easting first) drawn on ``width`` × ``height``."""

    code: str
    bbox: tuple[float, float, float, float]
    width: int
    height: int

    @property
    def resolution(self) -> float:
        """CRS units per pixel across."""
        return (self.bbox[2] - self.bbox[0]) / self.width

    def pixels(self, xy: np.ndarray) -> np.ndarray:
        """CRS coordinates (n × 2) as pixel coordinates (y down)."""
        minx, miny, maxx, maxy = self.bbox
        out = np.empty_like(xy, dtype=float)
        out[:, 0] = (xy[:, 0] - minx) * (self.width / (maxx - minx))
        out[:, 1] = (maxy - xy[:, 1]) * (self.height / (maxy - miny))
        return out

    def centre_crs84(self) -> tuple[float, float]:
        """The centre of the box in CRS84."""
        x = (self.bbox[0] + self.bbox[2]) / 2
        y = (self.bbox[1] + self.bbox[3]) / 2
        lon, lat = crs.transformer(self.code, "CRS84").transform(x, y)
        return float(lon), float(lat)


@dataclass(frozen=True)
class Marker:
    """A numbered place on the overview map (or an unnumbered overlay when ``number`` is 0)."""

    geometry: Any
    """Shapely geometry in the view's CRS."""
    number: int = 0


def rgb(colour: str) -> tuple[float, float, float]:
    """``#rrggbb`` as cairo's 0…1 channels."""
    return int(colour[1:3], 16) / 255, int(colour[3:5], 16) / 255, int(colour[5:7], 16) / 255


def _ring(ctx: cairo.Context, view: View, coords: np.ndarray, *, close: bool) -> None:
    if len(coords) == 0:
        return
    px = view.pixels(np.asarray(coords)[:, :2])
    ctx.move_to(px[0, 0], px[0, 1])
    for x, y in px[1:]:
        ctx.line_to(x, y)
    if close:
        ctx.close_path()


def _path(ctx: cairo.Context, view: View, geometry: Any) -> None:
    """Add the geometry's rings and lines to the current path (points are not paths)."""
    kind = geometry.geom_type
    if kind == "Polygon":
        _ring(ctx, view, np.asarray(geometry.exterior.coords), close=True)
        for hole in geometry.interiors:
            _ring(ctx, view, np.asarray(hole.coords), close=True)
    elif kind in {"LineString", "LinearRing"}:
        _ring(ctx, view, np.asarray(geometry.coords), close=False)
    elif kind.startswith("Multi") or kind == "GeometryCollection":
        for part in geometry.geoms:
            _path(ctx, view, part)


def _points(view: View, geometries: Iterable[Any]) -> np.ndarray:
    coords = [np.asarray(p.coords)[:, :2] for g in geometries
              for p in (g.geoms if g.geom_type == "MultiPoint" else [g])
              if g.geom_type in {"Point", "MultiPoint"} and not p.is_empty]
    return view.pixels(np.vstack(coords)) if coords else np.empty((0, 2))


def _dot_tile(colour: str, step: float) -> cairo.SurfacePattern:
    """One dot in a ``step`` square, repeated: a vector tiling pattern (in a PDF too), one
    paint per class instead of an arc per dot (thousands on a large image)."""
    tile = cairo.RecordingSurface(cairo.CONTENT_COLOR_ALPHA, (0, 0, step, step))
    dot = cairo.Context(tile)
    dot.set_source_rgb(*rgb(colour))
    dot.arc(step / 2, step / 2, 1.2, 0, 2 * math.pi)
    dot.fill()
    pattern = cairo.SurfacePattern(tile)
    pattern.set_extend(cairo.EXTEND_REPEAT)
    return pattern


def _pattern(ctx: cairo.Context, cls: StyleClass, view: View) -> None:
    """Hatching over the current clip (the feature), in the class's pattern colour."""
    if cls.pattern == "none" or cls.pattern_color is None:
        return
    ctx.set_source_rgb(*rgb(cls.pattern_color))
    ctx.set_line_width(1.0)
    step = 8.0
    w, h = view.width, view.height
    if cls.pattern == "dots":
        ctx.set_source(_dot_tile(cls.pattern_color, step))
        ctx.paint()
        return
    lines: list[tuple[float, float, float, float]] = []
    if cls.pattern in {"hatch", "cross-hatch"}:
        lines += [(x, 0, x - h, h) for x in np.arange(0, w + h, step)]
    if cls.pattern == "cross-hatch":
        lines += [(x - h, 0, x, h) for x in np.arange(0, w + h, step)]
    if cls.pattern == "horizontal":
        lines += [(0, y, w, y) for y in np.arange(0, h, step)]
    if cls.pattern == "vertical":
        lines += [(x, 0, x, h) for x in np.arange(0, w, step)]
    for x0, y0, x1, y1 in lines:
        ctx.move_to(x0, y0)
        ctx.line_to(x1, y1)
    ctx.stroke()


def _stroke(ctx: cairo.Context, cls: StyleClass, scale: float) -> None:
    if cls.outline is None:
        ctx.new_path()
        return
    ctx.set_source_rgb(*rgb(cls.outline))
    ctx.set_line_width(cls.stroke_width * scale)
    ctx.set_dash([d * scale for d in cls.dash] if cls.dash else [])
    ctx.set_line_join(cairo.LINE_JOIN_ROUND)
    ctx.set_line_cap(cairo.LINE_CAP_ROUND)
    ctx.stroke()
    ctx.set_dash([])


def _marker(ctx: cairo.Context, shape: str, x: float, y: float, r: float) -> None:
    if shape == "square":
        ctx.rectangle(x - r, y - r, 2 * r, 2 * r)
    elif shape == "triangle":
        ctx.move_to(x, y - r)
        ctx.line_to(x + r * 0.95, y + r * 0.7)
        ctx.line_to(x - r * 0.95, y + r * 0.7)
        ctx.close_path()
    elif shape == "diamond":
        ctx.move_to(x, y - r)
        ctx.line_to(x + r, y)
        ctx.line_to(x, y + r)
        ctx.line_to(x - r, y)
        ctx.close_path()
    else:
        ctx.new_sub_path()
        ctx.arc(x, y, r, 0, 2 * math.pi)
        ctx.close_path()


def draw_class(ctx: cairo.Context, view: View, style: Style, cls: StyleClass,
               geometries: Sequence[Any], *, scale: float = 1.0) -> None:
    """Features of one style class, drawn as the widget draws them."""
    if not len(geometries):
        return
    if style.geometry == "point":
        r = (cls.radius or 8.0) * scale
        for x, y in _points(view, geometries):
            _marker(ctx, cls.marker or "circle", float(x), float(y), r)
            if cls.fill:
                ctx.set_source_rgba(*rgb(cls.fill), cls.fill_opacity)
                ctx.fill_preserve()
            _stroke(ctx, cls, scale)
        return
    for geometry in geometries:
        _path(ctx, view, geometry)
    if style.geometry == "polygon":
        ctx.set_fill_rule(cairo.FILL_RULE_EVEN_ODD)
        if cls.fill:
            ctx.set_source_rgba(*rgb(cls.fill), cls.fill_opacity)
            ctx.fill_preserve()
        if cls.pattern != "none":
            ctx.save()
            ctx.clip_preserve()
            path = ctx.copy_path()
            ctx.new_path()
            _pattern(ctx, cls, view)
            ctx.restore()
            ctx.new_path()
            ctx.append_path(path)
    _stroke(ctx, cls, scale)
    if cls.symbol:
        ctx.select_font_face(FONT, cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_BOLD)
        ctx.set_font_size(11 * scale)
        for geometry in geometries:
            point = shapely.point_on_surface(geometry)
            x, y = view.pixels(np.asarray([[point.x, point.y]]))[0]
            _text(ctx, cls.symbol, float(x), float(y), cls.symbol_color, centre=True)


def _text(ctx: cairo.Context, text: str, x: float, y: float, colour: str, *,
          centre: bool = False, halo: str | None = HALO) -> None:
    extents = ctx.text_extents(text)
    if centre:
        x -= extents[2] / 2 + extents[0]
        y -= extents[3] / 2 + extents[1]
    ctx.move_to(x, y)
    ctx.text_path(text)
    if halo:
        ctx.set_source_rgb(*rgb(halo))
        ctx.set_line_width(3)
        ctx.stroke_preserve()
    ctx.set_source_rgb(*rgb(colour))
    ctx.fill()


def draw_tiles(ctx: cairo.Context, view: View,
               tiles: Iterable[tuple[bytes, tuple[float, float, float, float]]]) -> None:
    """Paint base tiles (PNG bytes and their bounds in the view's CRS) under everything."""
    for data, (minx, miny, maxx, maxy) in tiles:
        if not data:
            continue
        surface = cairo.ImageSurface.create_from_png(io.BytesIO(data))
        (x0, y0), (x1, y1) = view.pixels(np.asarray([[minx, maxy], [maxx, miny]]))
        ctx.save()
        ctx.rectangle(x0, y0, x1 - x0, y1 - y0)
        ctx.clip()
        ctx.translate(x0, y0)
        ctx.scale((x1 - x0) / surface.get_width(), (y1 - y0) / surface.get_height())
        ctx.set_source_surface(surface, 0, 0)
        ctx.get_source().set_filter(cairo.FILTER_GOOD)
        ctx.paint()
        ctx.restore()


def draw_markers(ctx: cairo.Context, view: View, markers: Sequence[Marker], *,
                 scale: float = 1.0) -> None:
    """The overlay: areas and lines cased in white, points as pins; numbers in circles."""
    for marker in markers:
        geometry = marker.geometry
        if geometry is None or geometry.is_empty:
            continue
        if geometry.geom_type not in {"Point", "MultiPoint"}:
            _path(ctx, view, geometry)
            ctx.set_line_join(cairo.LINE_JOIN_ROUND)
            if geometry.geom_type.endswith("Polygon"):
                ctx.set_source_rgba(*rgb(OVERLAY), 0.25)
                ctx.fill_preserve()
            ctx.set_source_rgb(*rgb(HALO))
            ctx.set_line_width(6 * scale)
            ctx.stroke_preserve()
            ctx.set_source_rgb(*rgb(OVERLAY))
            ctx.set_line_width(3 * scale)
            ctx.stroke()
        if geometry.geom_type in {"Point", "MultiPoint"}:
            spots = _points(view, [geometry])
        elif marker.number:
            point = shapely.point_on_surface(geometry)
            spots = view.pixels(np.asarray([[point.x, point.y]]))
        else:
            continue
        for x, y in spots:
            radius = (10 if marker.number else 7) * scale
            ctx.new_sub_path()
            ctx.arc(float(x), float(y), radius, 0, 2 * math.pi)
            ctx.set_source_rgb(*rgb(OVERLAY))
            ctx.fill_preserve()
            ctx.set_source_rgb(*rgb(HALO))
            ctx.set_line_width(2.5 * scale)
            ctx.stroke()
            if marker.number:
                ctx.select_font_face(FONT, cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_BOLD)
                ctx.set_font_size((11 if marker.number < 100 else 8.5) * scale)
                _text(ctx, str(marker.number), float(x), float(y), "#ffffff", centre=True,
                      halo=None)


def _nice(length: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``length``."""
    power = 10 ** math.floor(math.log10(length))
    return float(max(m * power for m in (1, 2, 5) if m * power <= length))


def ground_metres_per_px(view: View) -> float:
    """Metres on the ground per pixel across the image's centre (geodesic)."""
    y = (view.bbox[1] + view.bbox[3]) / 2
    x0, x1 = view.bbox[0] + view.resolution * (view.width / 2 - 50), \
        view.bbox[0] + view.resolution * (view.width / 2 + 50)
    lons, lats = crs.transformer(view.code, "CRS84").transform([x0, x1], [y, y])
    _, _, distance = _GEOD.inv(lons[0], lats[0], lons[1], lats[1])
    return float(distance) / 100


def draw_scale_bar(ctx: cairo.Context, view: View, *, scale: float = 1.0) -> None:
    """A bar of a round length at the bottom left, labelled in m or km."""
    per_px = ground_metres_per_px(view)
    metres = _nice(per_px * min(view.width * 0.25, 150 * scale))
    px = metres / per_px
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    x, y = 10 * scale, view.height - 12 * scale
    ctx.set_source_rgba(1, 1, 1, 0.8)
    ctx.rectangle(x - 4 * scale, y - 18 * scale, px + 8 * scale, 24 * scale)
    ctx.fill()
    ctx.set_source_rgb(0, 0, 0)
    ctx.set_line_width(2 * scale)
    ctx.move_to(x, y - 5 * scale)
    ctx.line_to(x, y)
    ctx.line_to(x + px, y)
    ctx.line_to(x + px, y - 5 * scale)
    ctx.stroke()
    ctx.select_font_face(FONT, cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_NORMAL)
    ctx.set_font_size(10 * scale)
    _text(ctx, label, x + 2 * scale, y - 7 * scale, "#000000", halo=None)


def north_angle(view: View) -> float:
    """Radians clockwise from the image's up to true north at the centre."""
    lon, lat = view.centre_crs84()
    forward = crs.transformer("CRS84", view.code)
    x0, y0 = forward.transform(lon, lat)
    x1, y1 = forward.transform(lon, min(lat + 0.01, 89.9))
    return math.atan2(x1 - x0, y1 - y0)


def draw_north_arrow(ctx: cairo.Context, view: View, *, scale: float = 1.0) -> None:
    """An arrow pointing to true north at the top right, with an N."""
    size = 14 * scale
    x, y = view.width - 22 * scale, 30 * scale
    ctx.save()
    ctx.translate(x, y)
    ctx.rotate(north_angle(view))
    ctx.move_to(0, -size)
    ctx.line_to(size * 0.55, size * 0.6)
    ctx.line_to(0, size * 0.25)
    ctx.line_to(-size * 0.55, size * 0.6)
    ctx.close_path()
    ctx.set_source_rgb(1, 1, 1)
    ctx.set_line_width(3 * scale)
    ctx.stroke_preserve()
    ctx.set_source_rgb(0, 0, 0)
    ctx.fill()
    ctx.restore()
    ctx.select_font_face(FONT, cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_BOLD)
    ctx.set_font_size(10 * scale)
    _text(ctx, "N", x, y + size + 6 * scale, "#000000", centre=True)


def draw_attribution(ctx: cairo.Context, view: View, text: str, *, scale: float = 1.0) -> None:
    """The sources' attribution at the bottom right on a light band."""
    if not text:
        return
    ctx.select_font_face(FONT, cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_NORMAL)
    ctx.set_font_size(9 * scale)
    while len(text) > 4 and ctx.text_extents(text)[4] > view.width * 0.6:
        text = text[:-2].rstrip() + "…"
    width = ctx.text_extents(text)[4]
    x = view.width - width - 6 * scale
    ctx.set_source_rgba(1, 1, 1, 0.8)
    ctx.rectangle(x - 4 * scale, view.height - 15 * scale, width + 10 * scale, 15 * scale)
    ctx.fill()
    ctx.set_source_rgb(0.1, 0.1, 0.1)
    ctx.move_to(x, view.height - 4 * scale)
    ctx.show_text(text)

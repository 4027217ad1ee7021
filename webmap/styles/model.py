"""Style files: parsed into frozen dataclasses here and nowhere else; errors name the field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from ..i18n import LANGUAGES
from .colour import HEX, blend

Geometry = Literal["polygon", "line", "point"]
GEOMETRIES = ("polygon", "line", "point")
PATTERNS = ("none", "hatch", "cross-hatch", "dots", "horizontal", "vertical")
MARKERS = ("circle", "square", "triangle", "diamond")
CLASS_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
STYLE_KEYS = {"id", "geometry", "title", "property", "classes"}
CLASS_KEYS: Mapping[str, set[str]] = {
    "polygon": {"fill", "fill_opacity", "stroke", "stroke_width", "dash", "pattern",
                "pattern_color"},
    "line": {"stroke", "stroke_width", "dash"},
    "point": {"marker", "radius", "fill", "fill_opacity", "stroke", "stroke_width"},
}
COMMON_CLASS_KEYS = {"id", "values", "legend", "symbol", "symbol_color"}
FILL_OPACITY: Mapping[str, float] = {"polygon": 0.6, "point": 1.0, "line": 1.0}
"""Areas let the base map show through; point markers are solid."""
STROKE_WIDTH_PX = 2.0
MARKER_RADIUS_PX = 8.0
"""What a class that leaves them out is drawn with: the check judges, and the widget and the
map images draw, these same numbers (``Style.to_json`` sends them to the browser)."""


class StyleError(ValueError):
    """A style or base-map file cannot be used; the message names the file and the field."""


@dataclass(frozen=True, kw_only=True)
class StyleClass:
    """One class of a style: which values it takes and how its features are drawn."""

    id: str
    values: tuple[str, ...] | None
    """The attribute values in this class; ``None`` makes it the default for any other value."""
    legend: Mapping[str, str]
    fill: str | None = None
    fill_opacity: float = 1.0
    stroke: str | None = None
    stroke_width: float = STROKE_WIDTH_PX
    dash: tuple[float, ...] | None = None
    """Dash and gap lengths in px along the stroke; ``None`` draws it solid."""
    pattern: str = "none"
    """Drawn over the fill in ``pattern_color``: one of ``PATTERNS``."""
    pattern_color: str | None = None
    marker: str | None = None
    """Points only: one of ``MARKERS``, ``radius`` px."""
    radius: float | None = None
    symbol: str | None = None
    """A short label (a plan letter code) drawn on each feature in ``symbol_color``."""
    symbol_color: str = "#000000"

    @property
    def outline(self) -> str | None:
        """The stroke colour when a stroke is drawn at all."""
        return self.stroke if self.stroke and self.stroke_width > 0 else None

    def surface(self, base: str) -> str:
        """The colour seen inside the feature over ``base``: the fill blended at its opacity."""
        return blend(self.fill, base, self.fill_opacity)

    @property
    def cues(self) -> tuple[object, ...]:
        """Everything but colour that sets the class apart: pattern, dash, marker, symbol."""
        return self.pattern, self.dash, self.marker, self.symbol

    def to_json(self) -> dict[str, Any]:
        """Every drawing number explicit, as the widget draws the class."""
        return {"id": self.id, "values": None if self.values is None else list(self.values),
                "legend": dict(self.legend), "fill": self.fill,
                "fill_opacity": self.fill_opacity, "stroke": self.outline,
                "stroke_width": self.stroke_width if self.outline else 0,
                "dash": None if self.dash is None else list(self.dash),
                "pattern": self.pattern, "pattern_color": self.pattern_color,
                "marker": self.marker, "radius": self.radius, "symbol": self.symbol,
                "symbol_color": self.symbol_color}


@dataclass(frozen=True, kw_only=True)
class Style:
    """A style file: its geometry, titles, the attribute that picks a class, and the classes."""

    id: str
    geometry: Geometry
    title: Mapping[str, str]
    property: str | None
    classes: tuple[StyleClass, ...]

    def to_json(self) -> dict[str, Any]:
        """The style as the browser draws it: defaults applied, nothing left to guess."""
        return {"id": self.id, "geometry": self.geometry, "title": dict(self.title),
                "property": self.property, "classes": [c.to_json() for c in self.classes]}

    def class_for(self, value: object) -> StyleClass | None:
        """The class a feature with this attribute value is drawn in (else the default)."""
        key = value if isinstance(value, str) or value is None else str(value)
        listed = next((c for c in self.classes if c.values is not None and key in c.values), None)
        return listed or next((c for c in self.classes if c.values is None), None)


def parse_colour(value: Any, where: str) -> str:
    """``#rrggbb`` in lower case; ``StyleError`` naming ``where`` for anything else."""
    if not isinstance(value, str) or not HEX.match(value):
        raise StyleError(f"{where}: {value!r} is not a colour like #rrggbb")
    return value.lower()


def _optional_colour(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    return None if value is None else parse_colour(value, f"{where}.{key}")


def _number(data: Mapping[str, Any], key: str, where: str, default: float, *,
            low: float, high: float = math.inf) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        bound = f"from {low:g} to {high:g}" if high < math.inf else f"of at least {low:g}"
        raise StyleError(f"{where}.{key}: give a number {bound}, not {value!r}")
    return float(value)


def _choice(value: Any, where: str, options: Sequence[str]) -> str:
    if value not in options:
        raise StyleError(f"{where}: use one of {', '.join(options)}, not {value!r}")
    return str(value)


def _localized(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise StyleError(f"{where}: give {{\"fi\": …, \"sv\": …, \"en\": …}}")
    for lang, words in value.items():
        if lang not in LANGUAGES:
            raise StyleError(f"{where}: unknown language {lang!r} (use fi, sv, en)")
        if not isinstance(words, str) or not words.strip():
            raise StyleError(f"{where}.{lang}: give a non-empty string")
    return dict(value)


def _values(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value)):
        raise StyleError(f"{where}: give a non-empty list of attribute values")
    return tuple(str(v) for v in value)


def _dash(value: Any, where: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                       for v in value)):
        raise StyleError(f"{where}: give dash and gap lengths in px, e.g. [6, 3], or null")
    return tuple(float(v) for v in value)


def _class(data: Any, geometry: Geometry, where: str) -> StyleClass:
    if not isinstance(data, Mapping):
        raise StyleError(f"{where}: give an object")
    allowed = COMMON_CLASS_KEYS | CLASS_KEYS[geometry]
    for key in data:
        if key not in allowed:
            raise StyleError(f"{where}.{key}: not a field of a {geometry} class "
                             f"(use {', '.join(sorted(allowed))})")
    class_id = data.get("id")
    if not isinstance(class_id, str) or not CLASS_ID.match(class_id):
        raise StyleError(f"{where}.id: give an id of a-z, 0-9, _ and - (at most 64)")
    if "legend" not in data:
        raise StyleError(f"{where}.legend: is required")
    fill = _optional_colour(data, "fill", where)
    stroke = _optional_colour(data, "stroke", where)
    stroke_width = _number(data, "stroke_width", where, STROKE_WIDTH_PX, low=0, high=20)
    drawn = stroke is not None and stroke_width > 0
    if geometry == "line" and not drawn:
        raise StyleError(f"{where}.stroke: a line class needs a stroke colour and width")
    if fill is None and not drawn:
        raise StyleError(f"{where}: give a fill or a stroke colour")
    dash = _dash(data.get("dash"), f"{where}.dash")
    if dash is not None and not drawn:
        raise StyleError(f"{where}.dash: a dash needs a stroke to dash")
    pattern = _choice(data.get("pattern") or "none", f"{where}.pattern", PATTERNS)
    pattern_color = _optional_colour(data, "pattern_color", where) or stroke
    if pattern != "none" and pattern_color is None:
        raise StyleError(f"{where}.pattern_color: a pattern needs a colour (or a stroke)")
    symbol = data.get("symbol")
    if symbol is not None and (not isinstance(symbol, str) or not 0 < len(symbol.strip()) <= 6):
        raise StyleError(f"{where}.symbol: give a short label of 1 to 6 characters, or null")
    point = geometry == "point"
    return StyleClass(
        id=class_id, values=_values(data.get("values"), f"{where}.values"),
        legend=_localized(data["legend"], f"{where}.legend"),
        fill=fill, fill_opacity=_number(data, "fill_opacity", where, FILL_OPACITY[geometry],
                                        low=0, high=1),
        stroke=stroke, stroke_width=stroke_width, dash=dash,
        pattern=pattern, pattern_color=pattern_color if pattern != "none" else None,
        marker=_choice(data.get("marker", "circle"), f"{where}.marker", MARKERS) if point else None,
        radius=_number(data, "radius", where, MARKER_RADIUS_PX, low=1, high=50)
        if point else None,
        symbol=symbol, symbol_color=parse_colour(data.get("symbol_color", "#000000"),
                                                  f"{where}.symbol_color"))


def parse_style(data: Any, *, style_id: str, source: str = "style") -> Style:
    """A validated style from decoded JSON; ``source`` names the file in errors."""
    if not isinstance(data, Mapping):
        raise StyleError(f"{source}: a style is a JSON object")
    if not CLASS_ID.match(style_id):
        raise StyleError(f"{source}: name the file with a-z, 0-9, _ and - (at most 64)")
    for key in data:
        if key not in STYLE_KEYS:
            raise StyleError(f"{source}.{key}: not a style field (use "
                             f"{', '.join(sorted(STYLE_KEYS))})")
    if data.get("id", style_id) != style_id:
        raise StyleError(f"{source}.id: {data['id']!r} must match the file name {style_id!r}")
    if "geometry" not in data:
        raise StyleError(f"{source}.geometry: is required (polygon, line or point)")
    geometry = cast(Geometry, _choice(data["geometry"], f"{source}.geometry", GEOMETRIES))
    if "title" not in data:
        raise StyleError(f"{source}.title: is required")
    raw_classes = data.get("classes")
    if not isinstance(raw_classes, list) or not raw_classes:
        raise StyleError(f"{source}.classes: give a non-empty list of classes")
    classes = tuple(_class(item, geometry, f"{source}.classes[{i}]")
                    for i, item in enumerate(raw_classes))
    prop = data.get("property")
    if prop is not None and (not isinstance(prop, str) or not prop):
        raise StyleError(f"{source}.property: give the attribute name that picks the class")
    if len(classes) > 1 and prop is None:
        raise StyleError(f"{source}.property: a style with several classes needs the attribute "
                         "that picks the class")
    seen_ids: set[str] = set()
    owner: dict[str, str] = {}
    for i, cls in enumerate(classes):
        where = f"{source}.classes[{i}]"
        if cls.id in seen_ids:
            raise StyleError(f"{where}.id: {cls.id!r} is used by another class")
        seen_ids.add(cls.id)
        if cls.values is None and any(c.values is None for c in classes[:i]):
            raise StyleError(f"{where}.values: only one class may be the default (no values)")
        for value in cls.values or ():
            if value in owner:
                raise StyleError(f"{where}.values: {value!r} is already in class "
                                 f"{owner[value]!r}")
            owner[value] = cls.id
    return Style(id=style_id, geometry=geometry, title=_localized(data["title"],
                 f"{source}.title"), property=prop, classes=classes)


def _read_json(path: Path, name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise StyleError(f"{name}: not valid JSON ({exc})") from None


def load_style(path: Path) -> Style:
    """Read and validate one style file; its id is the file name without ``.json``."""
    return parse_style(_read_json(path, path.name), style_id=path.stem, source=path.name)


def load_styles(directory: Path) -> dict[str, Style]:
    """Every style in ``directory`` (``*.json``, not sub-folders), by id."""
    if not directory.is_dir():
        raise StyleError(f"{directory}: there is no styles directory here")
    return {path.stem: load_style(path) for path in sorted(directory.glob("*.json"))}


def load_basemap_palettes(directory: Path) -> dict[str, tuple[str, ...]]:
    """Each base map's palette (background, every layer fill and stroke), by base-map id.

    High-contrast variants (``variant_of``) are left out: their thin black casings would
    fail every dark outline, so they are judged only as drawn (``BasemapService``), where
    the colours a feature lies on are told from the lines that cross it."""
    palettes: dict[str, tuple[str, ...]] = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        name = f"{directory.name}/{path.name}"
        data = _read_json(path, name)
        layers = data.get("layers", []) if isinstance(data, Mapping) else None
        if isinstance(data, Mapping) and data.get("variant_of"):
            continue
        if not isinstance(layers, list):
            raise StyleError(f"{name}.layers: a base map is an object with a list of layers")
        colours = [parse_colour(data["background"], f"{name}.background")
                   if data.get("background") is not None else None]
        for i, layer in enumerate(layers):
            if not isinstance(layer, Mapping):
                raise StyleError(f"{name}.layers[{i}]: give an object")
            colours += [_optional_colour(layer, key, f"{name}.layers[{i}]")
                        for key in ("fill", "stroke")]
        palettes[path.stem] = tuple(dict.fromkeys(c for c in colours if c is not None))
    return palettes

"""Base-map style files: parsed and checked at start-up, so a bad file names its field at once."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..problems import NotFound
from .proxy import Upstream, parse_upstream

BASEMAP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LAYER_KEYS = {"layer", "fill", "stroke", "stroke_width", "min_zoom", "max_zoom", "where",
               "label"}
_LABEL_KEYS = {"property", "placement", "size", "colour", "halo", "bold", "spacing"}
_TOP_KEYS = {"id", "title", "attribution", "background", "layers", "variant_of", "high_contrast",
             "upstream"}
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


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
class Label:
    """Text from one property of the features, placed by the renderer without overlaps.

    ``line``: along the line (street names); ``point``: at the point or inside the polygon.
    Sizes and the halo are CSS px on a 256-px tile.
    """

    property: str
    placement: str = "point"
    size: float = 12.0
    colour: str = "#222222"
    halo: str = "#ffffff"
    bold: bool = False
    spacing: float = 256.0
    """Line labels: px between repeats of one name along a long street."""

    def to_json(self) -> dict[str, Any]:
        """As written in the file, with defaults filled in."""
        return {"property": self.property, "placement": self.placement, "size": self.size,
                "colour": self.colour, "halo": self.halo, "bold": self.bold,
                "spacing": self.spacing}


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
    label: Label | None = None

    def to_json(self) -> dict[str, Any]:
        """As written in the file, with defaults filled in."""
        return {"layer": self.layer, "fill": self.fill, "stroke": self.stroke,
                "stroke_width": self.stroke_width, "min_zoom": self.min_zoom,
                "max_zoom": self.max_zoom,
                "where": self.where.to_json() if self.where else None,
                "label": self.label.to_json() if self.label else None}


@dataclass(frozen=True, kw_only=True)
class Basemap:
    """A parsed base-map file; ``digest`` changes whenever the file does."""

    id: str
    title: Mapping[str, str]
    attribution: str
    background: str
    layers: tuple[BasemapLayer, ...]
    digest: str
    variant_of: str | None = None
    """The base this one is the high-contrast variant of."""
    high_contrast: str | None = None
    """The id of this base's high-contrast variant, when it has one."""
    upstream: Upstream | None = None
    """A base fetched from another tile service through webmap (``proxy``), not drawn."""

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


def _label(value: object, where: str) -> Label | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("property"), str) \
            or not FIELD_NAME.match(value["property"]):
        raise BasemapError(f"{where}: give {{\"property\": a field name, \"placement\": "
                           "\"line\" or \"point\"}")
    unknown = sorted(set(value) - _LABEL_KEYS)
    if unknown:
        raise BasemapError(f"{where}: unknown key {unknown[0]!r}; use {sorted(_LABEL_KEYS)}")
    placement = value.get("placement", "point")
    if placement not in {"line", "point"}:
        raise BasemapError(f"{where}.placement: give \"line\" or \"point\", got {placement!r}")
    bold = value.get("bold", False)
    if not isinstance(bold, bool):
        raise BasemapError(f"{where}.bold: give true or false")
    return Label(property=value["property"], placement=placement,
                 size=_number(value.get("size", 12), f"{where}.size", low=8, high=48),
                 colour=_colour(value.get("colour", "#222222"), f"{where}.colour"),
                 halo=_colour(value.get("halo", "#ffffff"), f"{where}.halo"), bold=bold,
                 spacing=_number(value.get("spacing", 256), f"{where}.spacing", low=32,
                                 high=4096))


def _layer(value: object, where: str) -> BasemapLayer:
    if not isinstance(value, Mapping) or not isinstance(value.get("layer"), str):
        raise BasemapError(f"{where}: give an object with a \"layer\" id")
    unknown = sorted(set(value) - _LAYER_KEYS)
    if unknown:
        raise BasemapError(f"{where}: unknown key {unknown[0]!r}; use {sorted(_LAYER_KEYS)}")
    fill = None if value.get("fill") is None else _colour(value["fill"], f"{where}.fill")
    stroke = None if value.get("stroke") is None else _colour(value["stroke"],
                                                              f"{where}.stroke")
    label = _label(value.get("label"), f"{where}.label")
    if fill is None and stroke is None and label is None:
        raise BasemapError(f"{where}: give a fill, a stroke or both, or a label")
    min_zoom = int(_number(value.get("min_zoom", 0), f"{where}.min_zoom", low=0, high=30))
    max_zoom = int(_number(value.get("max_zoom", 24), f"{where}.max_zoom", low=0, high=30))
    if min_zoom > max_zoom:
        raise BasemapError(f"{where}: min_zoom {min_zoom} is above max_zoom {max_zoom}")
    return BasemapLayer(
        layer=value["layer"], fill=fill, stroke=stroke,
        stroke_width=_number(value.get("stroke_width", 1), f"{where}.stroke_width",
                             low=0.1, high=64),
        min_zoom=min_zoom, max_zoom=max_zoom, where=_where(value.get("where"), f"{where}.where"),
        label=label)


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
    links = {}
    for key in ("variant_of", "high_contrast"):
        link = data.get(key)
        if link is not None and (not isinstance(link, str) or not BASEMAP_ID.match(link)):
            raise BasemapError(f"{source}.{key}: give a base-map id")
        links[key] = link
    upstream = None
    if data.get("upstream") is not None:
        try:
            upstream = parse_upstream(data["upstream"], f"{source}.upstream")
        except ValueError as exc:
            raise BasemapError(str(exc)) from None
    layers = data.get("layers", [])
    if upstream is not None and layers:
        raise BasemapError(f"{source}: a base with an upstream service draws no layers")
    if not isinstance(layers, list):
        raise BasemapError(f"{source}.layers: give a list, bottom layer first")
    return Basemap(id=basemap_id, title=dict(title), attribution=attribution,
                   background=_colour(data.get("background", "#ffffff" if upstream else None),
                                      f"{source}.background"),
                   layers=tuple(_layer(item, f"{source}.layers[{i}]")
                                for i, item in enumerate(layers)),
                   digest=digest, upstream=upstream, **links)


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

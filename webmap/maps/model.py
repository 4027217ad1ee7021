"""Maps: compositions of layers, from JSON files in ``<layers_dir>/maps/`` or published by staff.

A map names its layers and their styles, a base map, the initial extent, its
languages, the consultation settings and the origins allowed to embed it
(SPEC §6). This module holds the frozen dataclasses; ``schema`` parses documents into them
and ``registry`` serves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ..i18n import LANGUAGES
from ..problems import NotFound
from ..types import BBox

GEOMETRY_KINDS = ("point", "line", "area", "feature")
BaseKind = Literal["rendered", "xyz", "layer"]


class MapNotFound(NotFound):
    """No map with this id."""

    def __init__(self, map_id: str) -> None:
        super().__init__(f"there is no map {map_id!r}")


Localized = Mapping[str, str]
"""``{"fi": …, "sv": …, "en": …}``; ``text(value, lang)`` picks one."""


def text(value: Localized, lang: str) -> str:
    """The string for ``lang``, else English, else any language given."""
    return value.get(lang) or value.get("en") or next(iter(value.values()), "")


@dataclass(frozen=True, kw_only=True)
class MapLayer:
    """One layer drawn on a map, bottom to top; ``plan`` layers are listed, focusable, choosable."""

    layer: str
    style: str
    plan: bool = False
    title: Localized = field(default_factory=dict)
    label_field: str | None = None
    """The attribute that names a feature in the list and on the map."""
    label_fields: Mapping[str, str] = field(default_factory=dict)
    """Per language, the attribute that names a feature where it has a value (``{"sv":
    "nimi_ru"}``); ``label_field`` otherwise."""
    attributes: tuple[str, ...] = ()
    """Key attributes shown in the feature panel, in this order."""
    attribute_titles: Mapping[str, Localized] = field(default_factory=dict)
    """What to call an attribute (``{"fi": …}``); the field name when none is given."""


@dataclass(frozen=True, kw_only=True)
class SearchSource:
    """A layer the place search reads: place names, or addresses (street + house number)."""

    layer: str
    kind: Literal["address", "place"]
    name_fields: tuple[str, ...] = ()
    """Place names, e.g. ``("name", "name:sv")``: each is matched."""
    street_field: str | None = None
    number_field: str | None = None


@dataclass(frozen=True, kw_only=True)
class BaseMap:
    """What is drawn under the layers.

    ``rendered``: webmap draws PNG tiles from a base-map style in ``styles/basemaps/``.
    ``xyz``: an external tile service (production); ``url`` with ``{z}/{x}/{y}``.
    ``layer``: a raster layer of this service.
    """

    kind: BaseKind
    basemap: str | None = None
    url: str | None = None
    layer: str | None = None
    attribution: str = ""
    palette: tuple[str, ...] = ()
    """For ``xyz`` bases: the colours the base shows most, for the contrast check."""


DEFAULT_PHOTOS = 3
MAX_PHOTOS = 3
"""Photos per comment a map may allow at most (SPEC §6)."""
DEFAULT_MAX_POINTS = 200
MAX_POINTS_CEILING = 1000
"""What a map may set as ``drawing.max_points`` at most (the body size bounds it anyway)."""


@dataclass(frozen=True, kw_only=True)
class Drawing:
    """The limits on the lines and areas residents draw (SPEC §6), enforced on the server too."""

    max_points: int = DEFAULT_MAX_POINTS
    """Points of one comment's shapes together (an area's closing point not counted)."""
    min_zoom: int | None = None
    """The closest zoom level the widget asks for before a point may be added (None: any)."""
    several: bool = False
    """Whether a comment may carry several lines or areas (MultiLineString, MultiPolygon)."""


@dataclass(frozen=True, kw_only=True)
class Consultation:
    """When comments are taken and what a comment may point at."""

    opens: datetime | None = None
    closes: datetime | None = None
    geometry: tuple[str, ...] = ("point",)
    """Any of ``point``, ``line``, ``area`` and ``feature`` (a plan feature)."""
    show_comments: bool = False
    """Whether published comments are shown in the widget."""
    time_zone: str = "Europe/Helsinki"
    """Where the consultation is held: staff pages show its times in this zone."""
    drawing: Drawing = field(default_factory=Drawing)
    """Limits on drawn lines and areas."""
    photos: int = DEFAULT_PHOTOS
    """Photos a resident may attach to one comment (0: none; at most ``MAX_PHOTOS``)."""

    def is_open(self, now: datetime | None = None) -> bool:
        """True inside the open period (either end may be unset)."""
        now = now or datetime.now(UTC)
        return ((self.opens is None or self.opens <= now)
                and (self.closes is None or now < self.closes))


@dataclass(frozen=True, kw_only=True)
class MapDefinition:
    """A published map."""

    id: str
    title: Localized
    description: Localized = field(default_factory=dict)
    tile_matrix_set: str = "WebMercatorQuad"
    extent: BBox
    """Initial view and the bounds comments must fall in, in CRS84."""
    languages: tuple[str, ...] = LANGUAGES
    base: BaseMap
    layers: tuple[MapLayer, ...] = ()
    search: tuple[SearchSource, ...] = ()
    consultation: Consultation | None = None
    origins: tuple[str, ...] = ()
    """Origins allowed to embed the map (``frame-ancestors``) and to receive its messages."""
    version: str = ""
    """A digest of the file: changes whenever the definition does."""

    @property
    def default_language(self) -> str:
        """The first language listed."""
        return self.languages[0]

    @property
    def plan_layers(self) -> tuple[MapLayer, ...]:
        """Layers whose features are listed and can be chosen."""
        return tuple(item for item in self.layers if item.plan)

    def language(self, requested: str | None) -> str:
        """``requested`` when the map speaks it, else the default."""
        return requested if requested in self.languages else self.default_language



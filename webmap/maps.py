"""Maps: compositions of layers, from JSON files in ``<layers_dir>/maps/`` or published by staff.

A map names its layers and their styles, a base map, the initial extent, its
languages, the consultation settings and the origins allowed to embed it
(SPEC §6). Files are parsed into frozen dataclasses here and nowhere else; a
bad file is refused with a message naming the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .grids import GRIDS
from .problems import Conflict, NotFound, ServiceUnavailable, Unprocessable
from .types import BBox

if TYPE_CHECKING:
    from .store.maps import MapStorage, StoredMap

LANGUAGES = ("fi", "sv", "en")
"""Every map speaks these; a map may list fewer (its first is the default)."""
log = logging.getLogger("webmap.maps")
MAP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ORIGIN = re.compile(r"^https?://[^/\s?#]+/?$")
GEOMETRY_KINDS = ("point", "line", "area", "feature")
BaseKind = Literal["rendered", "xyz", "layer"]


class MapDefinitionError(ValueError):
    """A map file cannot be used; the message names the file and the field."""


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


@dataclass(frozen=True, kw_only=True)
class Consultation:
    """When comments are taken and what a comment may point at."""

    opens: datetime | None = None
    closes: datetime | None = None
    geometry: tuple[str, ...] = ("point",)
    """Any of ``point``, ``line``, ``area`` and ``feature`` (a plan feature)."""
    show_comments: bool = False
    """Whether published comments are shown in the widget."""

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


def _need(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise MapDefinitionError(f"{where}: {key!r} is required")
    return data[key]


def _localized(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    if not isinstance(value, Mapping) or not value:
        raise MapDefinitionError(f"{where}: give a string or {{\"fi\": …, \"sv\": …, \"en\": …}}")
    unknown = set(value) - set(LANGUAGES)
    if unknown:
        raise MapDefinitionError(f"{where}: unknown language {sorted(unknown)[0]!r}")
    if not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise MapDefinitionError(f"{where}: every translation must be a non-empty string")
    return dict(value)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise MapDefinitionError(f"{where}: give a list of strings")
    return tuple(value)


def _time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise MapDefinitionError(f"{where}: {value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _extent(value: Any, where: str) -> BBox:
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(v, int | float) for v in value)):
        raise MapDefinitionError(f"{where}: give [west, south, east, north] in degrees")
    west, south, east, north = (float(v) for v in value)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise MapDefinitionError(f"{where}: {value} is not a lon/lat box with west < east "
                                 "and south < north")
    return west, south, east, north


def _base(data: Any, where: str) -> BaseMap:
    if not isinstance(data, Mapping):
        raise MapDefinitionError(f"{where}: give an object")
    kind = _need(data, "type", where)
    if kind == "rendered":
        return BaseMap(kind="rendered", basemap=str(_need(data, "basemap", where)),
                       attribution=str(data.get("attribution", "")))
    if kind == "xyz":
        url = str(_need(data, "url", where))
        if not url.startswith("https://") or "{z}" not in url:
            raise MapDefinitionError(f"{where}.url: give an https:// URL with {{z}}, {{x}}, {{y}}")
        return BaseMap(kind="xyz", url=url, attribution=str(_need(data, "attribution", where)),
                       palette=_strings(data.get("palette", []), f"{where}.palette"))
    if kind == "layer":
        return BaseMap(kind="layer", layer=str(_need(data, "layer", where)),
                       attribution=str(data.get("attribution", "")),
                       palette=_strings(data.get("palette", []), f"{where}.palette"))
    raise MapDefinitionError(f"{where}.type: use 'rendered', 'xyz' or 'layer', not {kind!r}")


def _attributes(value: Any, where: str) -> tuple[tuple[str, ...], dict[str, Localized]]:
    """``["field", {"field": "f", "title": {…}}, …]`` → names and titles."""
    if not isinstance(value, list):
        raise MapDefinitionError(f"{where}: give a list")
    names: list[str] = []
    titles: dict[str, Localized] = {}
    for i, item in enumerate(value):
        if isinstance(item, str) and item:
            names.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("field"), str):
            names.append(item["field"])
            if "title" in item:
                titles[item["field"]] = _localized(item["title"], f"{where}[{i}].title")
        else:
            raise MapDefinitionError(f"{where}[{i}]: give a field name or "
                                     "{\"field\": …, \"title\": …}")
    return tuple(names), titles


def _layer(data: Any, where: str) -> MapLayer:
    if not isinstance(data, Mapping):
        raise MapDefinitionError(f"{where}: give an object")
    attributes, titles = _attributes(data.get("attributes", []), f"{where}.attributes")
    return MapLayer(
        layer=str(_need(data, "layer", where)), style=str(_need(data, "style", where)),
        plan=bool(data.get("plan", False)),
        title=_localized(data["title"], f"{where}.title") if "title" in data else {},
        label_field=data.get("label"),
        attributes=attributes, attribute_titles=titles)


def _search(data: Any, where: str) -> SearchSource:
    if not isinstance(data, Mapping):
        raise MapDefinitionError(f"{where}: give an object")
    kind = data.get("kind", "place")
    if kind not in ("address", "place"):
        raise MapDefinitionError(f"{where}.kind: use 'address' or 'place'")
    source = SearchSource(layer=str(_need(data, "layer", where)), kind=kind,
                          name_fields=_strings(data.get("names", []), f"{where}.names"),
                          street_field=data.get("street"), number_field=data.get("number"))
    if kind == "address" and not source.street_field:
        raise MapDefinitionError(f"{where}: an address source needs 'street'")
    if kind == "place" and not source.name_fields:
        raise MapDefinitionError(f"{where}: a place source needs 'names'")
    return source


def _consultation(data: Any, where: str) -> Consultation | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise MapDefinitionError(f"{where}: give an object")
    kinds = _strings(data.get("geometry", ["point"]), f"{where}.geometry")
    for kind in kinds:
        if kind not in GEOMETRY_KINDS:
            raise MapDefinitionError(f"{where}.geometry: {kind!r} is not one of "
                                     f"{', '.join(GEOMETRY_KINDS)}")
    consultation = Consultation(opens=_time(data.get("opens"), f"{where}.opens"),
                                closes=_time(data.get("closes"), f"{where}.closes"),
                                geometry=kinds, show_comments=bool(data.get("show_comments")))
    if consultation.opens and consultation.closes and consultation.closes <= consultation.opens:
        raise MapDefinitionError(f"{where}: 'closes' must come after 'opens'")
    return consultation


def parse_map(data: Any, *, source: str = "map", version: str = "") -> MapDefinition:
    """A validated map from decoded JSON; ``source`` names it in errors."""
    if not isinstance(data, Mapping):
        raise MapDefinitionError(f"{source}: a map is a JSON object")
    map_id = str(_need(data, "id", source))
    if not MAP_ID.match(map_id):
        raise MapDefinitionError(f"{source}.id: use a-z, 0-9, _ and - (at most 64)")
    languages = _strings(data.get("languages", list(LANGUAGES)), f"{source}.languages")
    for lang in languages:
        if lang not in LANGUAGES:
            raise MapDefinitionError(f"{source}.languages: {lang!r} is not one of fi, sv, en")
    tms = str(data.get("tile_matrix_set", "WebMercatorQuad"))
    if tms not in GRIDS:
        raise MapDefinitionError(f"{source}.tile_matrix_set: use one of {', '.join(GRIDS)}")
    origins = _strings(data.get("origins", []), f"{source}.origins")
    for origin in origins:
        if not ORIGIN.match(origin):
            raise MapDefinitionError(f"{source}.origins: {origin!r} is not an origin like "
                                     "https://e-service.example.fi")
    layers = data.get("layers", [])
    searches = data.get("search", [])
    if not isinstance(layers, list) or not isinstance(searches, list):
        raise MapDefinitionError(f"{source}: 'layers' and 'search' are lists")
    return MapDefinition(
        id=map_id, title=_localized(_need(data, "title", source), f"{source}.title"),
        description=_localized(data["description"], f"{source}.description")
        if "description" in data else {},
        tile_matrix_set=tms, extent=_extent(_need(data, "extent", source), f"{source}.extent"),
        languages=languages or LANGUAGES,
        base=_base(_need(data, "base", source), f"{source}.base"),
        layers=tuple(_layer(item, f"{source}.layers[{i}]") for i, item in enumerate(layers)),
        search=tuple(_search(item, f"{source}.search[{i}]") for i, item in enumerate(searches)),
        consultation=_consultation(data.get("consultation"), f"{source}.consultation"),
        origins=tuple(o.rstrip("/") for o in origins), version=version)


def load_map(path: Path) -> MapDefinition:
    """Read and validate one map file."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise MapDefinitionError(f"{path.name}: not valid JSON ({exc})") from None
    definition = parse_map(data, source=path.name,
                           version=hashlib.sha256(raw).hexdigest()[:16])
    if definition.id != path.stem:
        raise MapDefinitionError(f"{path.name}: id {definition.id!r} must match the file name")
    return definition


MapCheck = Callable[[MapDefinition], None]
"""What a published map must satisfy beyond its schema (its layers and styles exist…);
raises a problem naming the field."""


def _unprocessable(exc: MapDefinitionError) -> Unprocessable:
    """A bad published definition as a 422 naming the field (``layers[0].style``)."""
    message = str(exc).removeprefix("map.").removeprefix("map: ")
    where, colon, rest = message.partition(": ")
    required = re.fullmatch(r"'([^']+)' is required", rest if colon else message)
    if required:
        field_name = f"{where}.{required.group(1)}" if colon else required.group(1)
    else:
        field_name = where if colon else "definition"
    return Unprocessable(field_name, message)


class MapRegistry:
    """File maps from a directory, merged with maps published through the staff API.

    Files are re-read when one changes; published maps when the storage's revision does (both
    checked at most every ``CHECK_SECONDS``), so every worker and host sees a publish within a
    second. A file map wins over a published map of the same id: files are the deployment's.
    """

    CHECK_SECONDS = 1.0

    def __init__(self, directory: Path, *, published: MapStorage | None = None,
                 check: MapCheck | None = None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._files: dict[str, MapDefinition] = {}
        self._storage = published
        self._check = check
        self._revision: int | None = None
        self._published: dict[str, MapDefinition] = {}
        self._maps: dict[str, MapDefinition] = {}
        self._checked = 0.0

    def use_storage(self, published: MapStorage, *, check: MapCheck | None = None) -> None:
        """Serve and accept published maps from ``published``; ``check`` vets each publish."""
        with self._lock:
            self._storage = published
            self._check = check
            self._revision = None
            self._published = {}
            self._merge()

    def _merge(self) -> None:
        shadowed = sorted(set(self._files) & set(self._published))
        if shadowed:
            log.warning("maps %s are both files and published; the files are served",
                        ", ".join(shadowed))
        self._maps = {**self._published, **self._files}

    def _scan(self) -> None:
        files = sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []
        signature = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        if signature == self._signature:
            return
        self._files = {d.id: d for d in (load_map(p) for p in files)}
        self._signature = signature
        self._merge()

    def _sync(self, storage: MapStorage) -> None:
        """Reload published maps when the revision moved; keep the last set if the database
        is away (raise only when there is none yet)."""
        try:
            revision = storage.revision()
            if revision == self._revision:
                return
            rows = storage.all()  # read after the revision: a later change bumps it again
        except ServiceUnavailable:
            if self._revision is None:
                raise
            log.warning("published maps not reloaded: the database cannot be reached")
            return
        published: dict[str, MapDefinition] = {}
        for row in rows:
            try:
                published[row.id] = parse_map(row.definition, source=f"published map {row.id}",
                                              version=row.version)
            except MapDefinitionError as exc:
                log.error("published map not served: %s", exc)
        self._published = published
        self._revision = revision
        self._merge()

    def _fresh(self) -> dict[str, MapDefinition]:
        with self._lock:
            now = time.monotonic()
            due = now - self._checked >= self.CHECK_SECONDS
            if self._signature is None:
                self._scan()
            elif due:
                try:
                    self._scan()
                except (MapDefinitionError, OSError) as exc:
                    # Keep serving the maps we have; the log says which file to fix.
                    log.error("map definitions not reloaded: %s", exc)
            if self._storage is not None and (due or self._revision is None):
                self._sync(self._storage)
            if due:
                self._checked = now
            return self._maps

    def all(self) -> list[MapDefinition]:
        """Every map, by id."""
        return sorted(self._fresh().values(), key=lambda m: m.id)

    def get(self, map_id: str) -> MapDefinition:
        """One map; ``MapNotFound`` (404) when there is none."""
        found = self._fresh().get(map_id)
        if found is None:
            raise MapNotFound(map_id)
        return found

    # -- published maps --------------------------------------------------------------------
    def _published_storage(self) -> MapStorage:
        if self._storage is None:
            raise Conflict("this service keeps no published maps; add a file to "
                           f"{self.directory.parent.name}/{self.directory.name} instead")
        return self._storage

    def _file_label(self, map_id: str) -> str:
        return f"{self.directory.parent.name}/{self.directory.name}/{map_id}.json"

    def publish(self, data: Mapping[str, Any], *, check: bool = True
                ) -> tuple[MapDefinition, bool]:
        """Validate and store a map; returns it and whether it is new. A bad definition,
        layer or style raises ``Unprocessable`` naming the field, a file map ``Conflict``;
        ``check=False`` (a backup being restored) skips the layer and style check."""
        storage = self._published_storage()
        try:
            definition = parse_map(data, source="map")
        except MapDefinitionError as exc:
            raise _unprocessable(exc) from None
        self._fresh()
        if definition.id in self._files:
            raise Conflict(f"map {definition.id!r} is defined in "
                           f"{self._file_label(definition.id)}; edit the file")
        if check and self._check is not None:
            self._check(definition)
        stored, created = storage.put(definition.id, data)
        definition = dataclasses.replace(definition, version=stored.version)
        with self._lock:
            self._published[definition.id] = definition
            self._merge()
        log.info("map %s %s", definition.id, "published" if created else "updated")
        return definition, created

    def unpublish(self, map_id: str) -> None:
        """Take a published map down; ``MapNotFound`` when none has the id, ``Conflict`` for
        a file map."""
        storage = self._published_storage()
        self._fresh()
        if not storage.delete(map_id):
            if map_id in self._files:
                raise Conflict(f"map {map_id!r} is defined in {self._file_label(map_id)}; "
                               "remove the file to take it down")
            raise MapNotFound(map_id)
        with self._lock:
            self._published.pop(map_id, None)
            self._merge()
        log.info("map %s taken down", map_id)

    def is_published(self, map_id: str) -> bool:
        """Whether ``map_id`` was published through the staff API (not a file map)."""
        self._fresh()
        return map_id in self._published

    def published(self) -> list[StoredMap]:
        """The published maps as stored (the documents staff sent), by id."""
        return [] if self._storage is None else self._storage.all()

"""Map documents (files and published JSON) parsed into ``model`` dataclasses; a bad document is
refused with a message naming the field."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..i18n import LANGUAGES
from ..problems import Unprocessable
from ..tiles.grids import GRIDS
from ..types import BBox
from .model import (
    DEFAULT_PHOTOS,
    GEOMETRY_KINDS,
    MAX_PHOTOS,
    MAX_POINTS_CEILING,
    BaseMap,
    Consultation,
    Drawing,
    Localized,
    MapDefinition,
    MapLayer,
    SearchSource,
)
from .safety import UnsafeUrl, check_tile_url

MAP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ORIGIN = re.compile(r"^https?://[^/\s?#]+/?$")


class MapDefinitionError(ValueError):
    """A map file cannot be used; the message names the file and the field."""


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
        try:
            check_tile_url(url)
        except UnsafeUrl as exc:
            raise MapDefinitionError(f"{where}.url: {exc} (e.g. https://tiles.example.fi/"
                                     "{z}/{x}/{y}.png)") from None
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
        label_field=data.get("label"), label_fields=_labels(data.get("labels"), where),
        attributes=attributes, attribute_titles=titles)


def _labels(value: Any, where: str) -> dict[str, str]:
    """``{"sv": "nimi_ru"}``: the attribute naming features in a language."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
        raise MapDefinitionError(f"{where}.labels: give {{\"language\": \"attribute\"}}, e.g. "
                                 '{"sv": "nimi_ru"}')
    return dict(value)


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


def _zone(value: Any, where: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(value, str) or not value:
        raise MapDefinitionError(f"{where}: give a time zone such as Europe/Helsinki")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise MapDefinitionError(f"{where}: {value!r} is not a time zone; use e.g. "
                                 "Europe/Helsinki or Europe/Stockholm") from None
    return value


def _drawing(data: Any, where: str) -> Drawing:
    """``{"max_points": 200, "min_zoom": 15, "several": false}``, every member optional."""
    if data is None:
        return Drawing()
    if not isinstance(data, Mapping):
        raise MapDefinitionError(f"{where}: give an object")
    unknown = sorted(set(data) - {"max_points", "min_zoom", "several"})
    if unknown:
        raise MapDefinitionError(f"{where}: unknown member {unknown[0]!r}; use max_points, "
                                 "min_zoom and several")
    drawing = Drawing()
    max_points = data.get("max_points", drawing.max_points)
    if (isinstance(max_points, bool) or not isinstance(max_points, int)
            or not 3 <= max_points <= MAX_POINTS_CEILING):
        raise MapDefinitionError(f"{where}.max_points: give a whole number from 3 to "
                                 f"{MAX_POINTS_CEILING}")
    min_zoom = data.get("min_zoom")
    if min_zoom is not None and (isinstance(min_zoom, bool) or not isinstance(min_zoom, int)
                                 or not 0 <= min_zoom <= 24):
        raise MapDefinitionError(f"{where}.min_zoom: give a zoom level from 0 to 24, or null")
    several = data.get("several", False)
    if not isinstance(several, bool):
        raise MapDefinitionError(f"{where}.several: give true or false")
    return Drawing(max_points=max_points, min_zoom=min_zoom, several=several)


def _photos(value: Any, where: str) -> int:
    """How many photos one comment may carry: 0 to ``MAX_PHOTOS``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PHOTOS:
        raise MapDefinitionError(f"{where}: give a whole number from 0 to {MAX_PHOTOS} "
                                 "(0: no photos)")
    return value


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
                                geometry=kinds, show_comments=bool(data.get("show_comments")),
                                time_zone=_zone(data.get("time_zone", "Europe/Helsinki"),
                                                f"{where}.time_zone"),
                                drawing=_drawing(data.get("drawing"), f"{where}.drawing"),
                                photos=_photos(data.get("photos", DEFAULT_PHOTOS),
                                               f"{where}.photos"))
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


def unprocessable(exc: MapDefinitionError) -> Unprocessable:
    """A bad published definition as a 422 naming the field (``layers[0].style``)."""
    message = str(exc).removeprefix("map.").removeprefix("map: ")
    where, colon, rest = message.partition(": ")
    required = re.fullmatch(r"'([^']+)' is required", rest if colon else message)
    if required:
        field_name = f"{where}.{required.group(1)}" if colon else required.group(1)
    else:
        field_name = where if colon else "definition"
    return Unprocessable(field_name, message)

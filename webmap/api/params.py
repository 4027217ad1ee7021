"""Query parameters → typed values, or ``InvalidParameter`` naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import shapely
from shapely.errors import ShapelyError

from .. import crs
from ..problems import InvalidParameter
from ..types import And, BBox, Compare, Field, FilterNode, ItemQuery, LayerInfo, Property, Spatial
from . import filters

MAX_LIMIT = 10_000
MAX_INT64 = 2**63 - 1
"""The largest whole number a query may carry (both backends store 64-bit integers)."""
DEFAULT_LIMIT = 10
ITEMS_PARAMS = frozenset({"f", "bbox", "bbox-crs", "limit", "offset", "after", "crs", "datetime",
                          "filter", "filter-lang", "filter-crs", filters.GEOMETRY})


def parse_int(args: Mapping[str, str], name: str, *, default: int, minimum: int,
              maximum: int | None = None) -> int:
    """A whole number within bounds; values above ``maximum`` are capped (OGC API allows it)."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise InvalidParameter(name, f"{name} must be at least {minimum}, got {value}")
    if value > MAX_INT64:
        raise InvalidParameter(name, f"{name} must be at most {MAX_INT64}, got {raw!r}")
    return min(value, maximum) if maximum is not None else value


def parse_crs(args: Mapping[str, str], name: str, supported: Iterable[str]) -> str:
    """``CRS84`` or ``EPSG:n`` from a CRS URI the collection offers."""
    raw = args.get(name)
    if raw is None or raw == "":
        return "CRS84"
    try:
        code = crs.code_from_uri(raw)
    except ValueError as exc:
        raise InvalidParameter(name, str(exc)) from None
    offered = list(supported)
    if code not in offered:
        raise InvalidParameter(name, f"{name} {raw!r} is not offered for this collection; "
                               f"use one of {', '.join(crs.uri(c) for c in offered)}")
    return code


def parse_bbox(args: Mapping[str, str], bbox_crs: str) -> tuple[BBox | None, Any]:
    """``bbox=minx,miny,maxx,maxy`` in ``bbox_crs`` (its axis order) → a CRS84 envelope and,
    for other CRSs, the exact CRS84 polygon of that rectangle."""
    raw = args.get("bbox")
    if raw is None or raw == "":
        return None, None
    parts = raw.split(",")
    if len(parts) == 6:  # 3-D bbox: keep the horizontal part
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4:
        raise InvalidParameter("bbox", f"bbox needs 4 numbers, got {len(raw.split(','))}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameter("bbox", f"bbox must be 4 numbers separated by commas, "
                               f"got {raw!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidParameter("bbox", "bbox numbers must be finite")
    minx, miny, maxx, maxy = values
    if bbox_crs == "CRS84":
        if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90
                and -90 <= maxy <= 90):
            raise InvalidParameter("bbox", "bbox longitudes must lie in -180..180 and "
                                   "latitudes in -90..90")
        if miny > maxy:
            raise InvalidParameter("bbox", "bbox's lower corner is above its upper corner")
        if minx > maxx:  # crosses the antimeridian: nothing webmap serves lies there
            minx, maxx = -180.0, 180.0
    elif minx > maxx or miny > maxy:
        raise InvalidParameter("bbox", "bbox's lower corner must come before its upper corner")
    if bbox_crs in {"CRS84", "EPSG:4326"}:
        return crs.bbox_to_crs84((minx, miny, maxx, maxy), bbox_crs), None
    if minx == maxx or miny == maxy:  # a point or a line: no area to densify
        try:
            corners = crs.bbox_to_crs84((minx, miny, maxx, maxy), bbox_crs)
        except Exception:  # noqa: BLE001 - PROJ raises several kinds outside a CRS's area
            corners = (math.inf,) * 4
        if not all(math.isfinite(v) for v in corners):
            raise InvalidParameter("bbox", f"bbox lies outside {bbox_crs}'s area")
        return corners, None
    try:
        area = crs.area_to_crs84((minx, miny, maxx, maxy), bbox_crs)
    except ValueError:
        raise InvalidParameter("bbox", f"bbox lies outside {bbox_crs}'s area") from None
    return area.bounds, area


def parse_properties(args: Mapping[str, str], info: LayerInfo
                     ) -> tuple[tuple[str, object], ...]:
    """Equality filters ``?name=value`` on the layer's attributes, cast to their types."""
    fields = {f.name: f for f in info.fields}
    filters = []
    for name, raw in args.items():
        if name in ITEMS_PARAMS:
            continue
        field = fields.get(name)
        if field is None:
            known = ", ".join(sorted(fields)) or "none"
            raise InvalidParameter(name, f"unknown parameter {name!r}; this collection's "
                                   f"properties are: {known}")
        filters.append((name, cast_value(field, raw)))
    return tuple(filters)


def parse_geometry(args: Mapping[str, str]) -> FilterNode | None:
    """``geometry=<WKT in CRS84>``: the spatial queryable as a query parameter (intersects)."""
    raw = args.get(filters.GEOMETRY)
    if raw is None or not raw.strip():
        return None
    try:
        geometry = shapely.from_wkt(raw)
    except ShapelyError:
        raise InvalidParameter(filters.GEOMETRY, f"{filters.GEOMETRY} must be a WKT geometry "
                               "in CRS84 such as POINT(24.94 60.17)") from None
    return Spatial("intersects", filters.checked_geometry(geometry, "CRS84", filters.GEOMETRY))


Moment = date | datetime
OPEN = {"", ".."}


def _moment(raw: str) -> Moment:
    """A date (``2024-05-01``) or an RFC 3339 date-time (UTC when no offset is given)."""
    text = raw.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    value = datetime.fromisoformat(text.replace("z", "Z"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _start(value: Moment, kind: str) -> Moment:
    """The first instant of ``value`` in the property's type."""
    if kind == "date":
        return value.astimezone(UTC).date() if isinstance(value, datetime) else value
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def parse_datetime(args: Mapping[str, str], info: LayerInfo) -> FilterNode | None:
    """``datetime=`` an instant, ``start/end`` or an interval open at one end (``..``),
    against the layer's temporal property; a whole day when a date is given."""
    raw = args.get("datetime")
    if raw is None or raw == "":
        return None
    field = info.temporal_field
    if field is None:
        raise InvalidParameter("datetime", f"collection {info.id!r} has no date or datetime "
                               "property to filter on")
    parts = raw.split("/")
    if len(parts) > 2 or (len(parts) == 2 and all(p.strip() in OPEN for p in parts)):
        raise InvalidParameter("datetime", "datetime is an instant, start/end, ../end or "
                               f"start/.., got {raw!r}")
    try:
        moments = [None if p.strip() in OPEN else _moment(p) for p in parts]
    except ValueError:
        raise InvalidParameter("datetime", "datetime needs RFC 3339 dates or date-times such "
                               f"as 2024-05-01 or 2024-05-01T12:00:00Z, got {raw!r}") from None
    first, last = moments[0], moments[-1]
    if first is not None and last is not None and _start(first, "datetime") > \
            _start(last, "datetime"):
        raise InvalidParameter("datetime", "datetime's start is after its end")
    prop = Property(field.name, field.type)
    terms: list[FilterNode] = []
    if first is not None:
        terms.append(Compare(">=", prop, _start(first, field.type)))
    if last is not None:
        if isinstance(last, datetime) or field.type == "date":
            terms.append(Compare("<=", prop, _start(last, field.type)))
        else:  # a day as the end of a datetime interval: up to its last instant
            terms.append(Compare("<", prop, _start(last + timedelta(days=1), field.type)))
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def cast_value(field: Field, raw: str) -> object:
    """A filter value in the field's type; InvalidParameter if it does not fit."""
    try:
        if field.type == "integer":
            number = int(raw)
            if abs(number) > MAX_INT64:
                raise ValueError
            return number
        if field.type == "number":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
    except ValueError:
        article = "an" if field.type[0] in "aeiou" else "a"
        raise InvalidParameter(field.name, f"{field.name} is {article} {field.type}; "
                               f"{raw!r} is not") from None
    if field.type == "boolean":
        lowered = raw.lower()
        if lowered not in {"true", "false", "1", "0"}:
            raise InvalidParameter(field.name, f"{field.name} is true or false, not {raw!r}")
        return lowered in {"true", "1"}
    return raw


def parse_items(args: Mapping[str, str], info: LayerInfo, offered_crs: list[str]
                ) -> tuple[ItemQuery, str]:
    """The whole items request: the store query and the output CRS."""
    limit = parse_int(args, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    offset = parse_int(args, "offset", default=0, minimum=0)
    after_raw = args.get("after")
    after = None if not after_raw else parse_int(args, "after", default=0, minimum=0)
    out_crs = parse_crs(args, "crs", offered_crs)
    bbox_crs = parse_crs(args, "bbox-crs", offered_crs)
    bbox, area = parse_bbox(args, bbox_crs)
    filter_crs = parse_crs(args, "filter-crs", offered_crs)
    terms = tuple(t for t in (parse_geometry(args), parse_datetime(args, info),
                              filters.parse_filter(args, info, filter_crs)) if t is not None)
    query = ItemQuery(bbox=bbox, area=area, limit=limit, offset=offset, after=after,
                      properties=parse_properties(args, info),
                      filter=None if not terms else terms[0] if len(terms) == 1 else And(terms))
    return query, out_crs

"""Drawn lines and areas checked against the map's drawing limits (SPEC §6, §7).

Each refusal is an ``Unprocessable`` on ``geometry`` with a ``reason`` (and the numbers the
widget needs to say the same in the resident's language): ``kind``, ``several``,
``points``, ``outside``, ``crossing``, ``invalid``. Points and segments are counted from 1,
as a resident hears them: segment 2 runs from point 2 to point 3; an area's last segment
closes it back to point 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely

from ..maps import MapDefinition
from ..maps.model import Drawing
from ..problems import Unprocessable

KIND_TYPES = {"point": ("Point",), "line": ("LineString", "MultiLineString"),
              "area": ("Polygon", "MultiPolygon")}
"""Consultation geometry kinds and the GeoJSON types each takes (Multi* with ``several``)."""
MULTI = {"MultiLineString": "LineString", "MultiPolygon": "Polygon"}

Position = list[float]


@dataclass(frozen=True)
class Crossing:
    """Two segments of one ring that cross: 1-based numbers, ``part`` and ``ring`` too."""

    part: int
    ring: int
    first: int
    second: int


def _problem(detail: str, reason: str, **extra: Any) -> Unprocessable:
    return Unprocessable("geometry", detail, reason=reason, **extra)


def _position(value: Any, where: str) -> Position:
    if (not isinstance(value, list) or len(value) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(v) for v in value)):
        raise _problem(f"{where}: a position is [longitude, latitude] in degrees", "invalid")
    return [float(value[0]), float(value[1])]


def _positions(value: Any, where: str, *, minimum: int) -> list[Position]:
    if not isinstance(value, list) or len(value) < minimum:
        raise _problem(f"{where}: give at least {minimum} positions", "invalid")
    return [_position(v, where) for v in value]


def _polygon(value: Any, where: str) -> list[list[Position]]:
    if not isinstance(value, list) or not value:
        raise _problem(f"{where}: a Polygon is a list of rings", "invalid")
    rings = [_positions(ring, f"{where}[{i}]", minimum=4) for i, ring in enumerate(value)]
    for i, ring in enumerate(rings):
        if ring[0] != ring[-1]:
            raise _problem(f"{where}[{i}]: a ring must end where it starts", "invalid")
    return rings


def coordinates(kind: str, value: Any) -> Any:
    """Checked 2D coordinates of a Point, LineString, Polygon or their Multi forms."""
    where = "geometry.coordinates"
    if kind == "Point":
        return _position(value, where)
    if kind == "LineString":
        return _positions(value, where, minimum=2)
    if kind == "Polygon":
        return _polygon(value, where)
    if not isinstance(value, list) or not value:
        raise _problem(f"{where}: a {kind} is a list of its parts", "invalid")
    if MULTI[kind] == "LineString":
        return [_positions(part, f"{where}[{i}]", minimum=2) for i, part in enumerate(value)]
    return [_polygon(part, f"{where}[{i}]") for i, part in enumerate(value)]


def parts(kind: str, coords: Any) -> list[Any]:
    """A geometry's parts as single coordinates (one for a single geometry)."""
    return list(coords) if kind in MULTI else [coords]


def point_count(kind: str, coords: Any) -> int:
    """The points a resident placed: an area's closing position is not one more."""
    if kind == "Point":
        return 1
    single = MULTI.get(kind, kind)
    if single == "LineString":
        return sum(len(line) for line in parts(kind, coords))
    return sum(len(ring) - 1 for polygon in parts(kind, coords) for ring in polygon)


def ring_crossings(ring: Sequence[Position]) -> list[tuple[int, int]]:
    """Pairs of 1-based segment numbers of a closed ring that touch other than at the point
    two neighbours share (a bow-tie's two crossing edges, or an edge doubling back)."""
    points = np.asarray(ring, dtype=float)
    count = len(points) - 1
    if count < 3:
        return []
    segments = shapely.linestrings(np.stack([points[:-1], points[1:]], axis=1))
    tree = shapely.STRtree(segments)
    left, right = tree.query(segments, predicate="intersects")
    found: list[tuple[int, int]] = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        neighbours = j == i + 1 or (i == 0 and j == count - 1)
        if neighbours:
            shared = shapely.intersection(segments[i], segments[j])
            if shapely.get_type_id(shared) == 0:  # only the corner they share
                continue
        found.append((i + 1, j + 1))
    return found


def crossings(kind: str, coords: Any) -> list[Crossing]:
    """Every pair of crossing segments in every ring of an area (empty for lines)."""
    if MULTI.get(kind, kind) != "Polygon":
        return []
    return [Crossing(p, r, a, b)
            for p, polygon in enumerate(parts(kind, coords), start=1)
            for r, ring in enumerate(polygon, start=1)
            for a, b in ring_crossings(ring)]


def _crossing_text(crossing: Crossing, *, many_parts: bool, many_rings: bool) -> str:
    where = "the area's edge"
    if many_parts:
        where = f"area {crossing.part}'s edge"
    if many_rings:
        where += f" (ring {crossing.ring})"
    return (f"{where} crosses itself: segment {crossing.first} crosses segment "
            f"{crossing.second}; move a point so that no two edges cross")


def _outside(kind: str, coords: Any, definition: MapDefinition) -> int | None:
    """The first point (1-based, in drawing order) outside the map's extent, if any."""
    west, south, east, north = definition.extent
    flat: list[Position]
    if kind == "Point":
        flat = [coords]
    elif MULTI.get(kind, kind) == "LineString":
        flat = [p for line in parts(kind, coords) for p in line]
    else:
        flat = [p for polygon in parts(kind, coords) for ring in polygon for p in ring[:-1]]
    for n, (lon, lat) in enumerate(flat, start=1):
        if not (west <= lon <= east and south <= lat <= north):
            return n
    return None


def check_geometry(value: Any, definition: MapDefinition, allowed: Sequence[str]) -> str:
    """Canonical GeoJSON text of a geometry the map takes, within its drawing limits."""
    consultation = definition.consultation
    drawing = consultation.drawing if consultation else Drawing()
    allowed_types = {t: k for k in allowed if k in KIND_TYPES for t in KIND_TYPES[k]}
    if not allowed_types:
        raise _problem(f"map {definition.id!r} takes comments on plan features only: send "
                       "'feature' instead", "kind")
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        raise _problem("geometry must be a GeoJSON geometry object", "invalid")
    kind = value["type"]
    if kind in MULTI and kind in allowed_types and not drawing.several:
        raise _problem(f"map {definition.id!r} takes one shape per comment: send a "
                       f"{MULTI[kind]}, not a {kind}", "several")
    singles = {t for t in allowed_types if t not in MULTI}
    if kind not in allowed_types:
        wanted = " or ".join(sorted(singles))
        raise _problem(f"map {definition.id!r} takes a {wanted} geometry, not {kind}", "kind")
    if "crs" in value:
        raise _problem("give longitude and latitude (CRS84) without a 'crs' member", "invalid")
    coords = coordinates(kind, value.get("coordinates"))
    points = point_count(kind, coords)
    if points > drawing.max_points:
        raise _problem(f"geometry has {points} points; this map takes at most "
                       f"{drawing.max_points}", "points", points=points,
                       max_points=drawing.max_points)
    outside = _outside(kind, coords, definition)
    if outside is not None:
        west, south, east, north = definition.extent
        raise _problem(f"point {outside} lies outside the map's area ({west}, {south}, {east}, "
                       f"{north} in longitude/latitude)", "outside", point=outside)
    found = crossings(kind, coords)
    if found:
        first = found[0]
        many_parts = kind in MULTI and len(coords) > 1
        many_rings = len(parts(kind, coords)[first.part - 1]) > 1
        raise _problem(_crossing_text(first, many_parts=many_parts, many_rings=many_rings),
                       "crossing", segments=[first.first, first.second], part=first.part,
                       ring=first.ring)
    text = orjson.dumps({"type": kind, "coordinates": coords}).decode()
    shape = shapely.from_geojson(text)
    if not shapely.is_valid(shape):
        reason = shapely.is_valid_reason(shape)
        if kind == "MultiPolygon" and "Self-intersection" in reason:
            raise _problem("the areas overlap; draw them apart or as one area", "overlap")
        raise _problem(f"geometry is not valid: {reason}", "invalid")
    return text

"""``/maps/{id}/image``: the map drawn server side, as OGC API - Maps Part 1 core asks.

``bbox``, ``bbox-crs``, ``width``, ``height``, ``crs`` and ``f`` (``png`` or ``pdf``); an
overlay geometry as GeoJSON in a POST body (CRS84) or ``comment=<id>`` of a published comment.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import shapely
from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import crs
from ..comments.service import MAX_BODY_BYTES, CommentNotFound
from ..mapimage.draw import Marker, View
from ..mapimage.service import Format, check_size, offered_crs
from ..maps.model import MapDefinition
from ..problems import InvalidParameter, NotFound, Problem
from ..services import current
from ..tiles.grids import GRID_EPSG
from ..types import MediaType
from .accepts import accepts
from .params import parse_bbox

bp = Blueprint("mapimage", __name__)
MEDIA = {"png": MediaType.PNG, "pdf": "application/pdf"}
DEFAULT_WIDTH_PX = 1024


def _code(name: str, *, default: str, offered: tuple[str, ...]) -> str:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        code = crs.code_from_uri(raw)
    except ValueError as exc:
        raise InvalidParameter(name, str(exc)) from None
    if code not in offered:
        raise InvalidParameter(name, f"{name} {raw!r} is not offered; use one of "
                               f"{', '.join(crs.uri(c) for c in offered)}")
    return code


def _box(definition: MapDefinition, bbox_crs: str, code: str) -> tuple[float, ...]:
    """The bbox asked for (else the map's extent) in ``code``, easting first."""
    if not request.args.get("bbox"):
        raw: tuple[float, ...] = definition.extent
        bbox_crs = "CRS84"
    else:
        parse_bbox(request.args, bbox_crs)  # the shared checks and their messages
        numbers = [float(v) for v in request.args["bbox"].split(",")]
        if len(numbers) == 6:
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        raw = tuple(numbers)
        if bbox_crs != "CRS84" and crs.northing_first(bbox_crs):
            raw = (raw[1], raw[0], raw[3], raw[2])
    if raw[0] >= raw[2] or raw[1] >= raw[3]:
        raise InvalidParameter("bbox", "bbox must have an area: its lower corner must lie "
                               "below and left of its upper corner")
    if bbox_crs == code:
        box = raw
    else:
        west, south, east, north = raw[:4]
        box = crs.transformer(bbox_crs, code).transform_bounds(west, south, east, north,
                                                               densify_pts=21)
    if not all(math.isfinite(v) for v in box) or box[0] >= box[2] or box[1] >= box[3]:
        raise InvalidParameter("bbox", f"bbox cannot be shown in {crs.uri(code)}")
    return tuple(float(v) for v in box)


def _size(box: tuple[float, ...]) -> tuple[int, int]:
    def number(name: str) -> int | None:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise InvalidParameter(name, f"{name} must be a whole number of px, "
                                   f"got {raw!r}") from None
    width, height = number("width"), number("height")
    aspect = (box[3] - box[1]) / (box[2] - box[0])
    if width is None and height is None:
        width = DEFAULT_WIDTH_PX
    if height is None:
        check_size(width or 0, 1)
        height = max(1, round((width or 0) * aspect))
    if width is None:
        check_size(1, height)
        width = max(1, round(height / aspect))
    check_size(width, height)
    return width, height


def _format() -> Format:
    f = request.args.get("f")
    if f is None:
        best = request.accept_mimetypes.best_match([MEDIA["png"], MEDIA["pdf"]])
        return "pdf" if best == MEDIA["pdf"] else "png"
    if f not in MEDIA:
        raise InvalidParameter("f", f"f must be png or pdf, got {f!r}")
    return "pdf" if f == "pdf" else "png"


def _geojson_geometry(data: Any) -> Any:
    """A shapely geometry (CRS84) from a GeoJSON geometry, Feature or FeatureCollection."""
    if not isinstance(data, dict):
        raise Problem("the body must be a GeoJSON object", title="Invalid body")
    kind = data.get("type")
    try:
        if kind == "FeatureCollection":
            parts = [_geojson_geometry(f) for f in data.get("features") or []]
            return shapely.GeometryCollection([p for p in parts if p is not None])
        if kind == "Feature":
            inner = data.get("geometry")
            return None if inner is None else _geojson_geometry(inner)
        geometry = shapely.from_geojson(orjson.dumps(data))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        raise Problem("the body is not a GeoJSON geometry, Feature or FeatureCollection",
                      title="Invalid body") from None
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    return geometry


def _overlay(definition: MapDefinition) -> Any:
    """The overlay geometry in CRS84 (None without one)."""
    comment_id = request.args.get("comment")
    geometry = None
    if comment_id:
        try:
            found = current().comments.storage.get(comment_id)
        except CommentNotFound:
            found = None
        if found is None or found.map_id != definition.id or found.status != "published":
            raise NotFound(f"map {definition.id!r} has no published comment {comment_id!r}")
        if found.place:
            geometry = shapely.from_geojson(found.place)
    if request.method == "POST":
        request.max_content_length = MAX_BODY_BYTES
        try:
            raw = request.get_data(cache=False)
        except RequestEntityTooLarge:
            raise Problem(f"the body is larger than {MAX_BODY_BYTES // 1024} KiB",
                          status=413, title="Content too large") from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Problem("the body is not valid JSON", title="Invalid body") from None
        posted = _geojson_geometry(data)
        if posted is not None:
            geometry = posted if geometry is None else shapely.union(geometry, posted)
    return geometry


@bp.route("/maps/<map_id>/image", methods=["GET", "POST"])
@accepts("bbox", "bbox-crs", "width", "height", "crs", "f", "comment")
def image(map_id: str) -> Response:
    """The map as a PNG or a one-page PDF."""
    services = current()
    definition = services.maps.get(map_id)
    offered = offered_crs()
    code = _code("crs", default=GRID_EPSG.get(definition.tile_matrix_set, "EPSG:3857"),
                 offered=offered)
    bbox_crs = _code("bbox-crs", default="CRS84",
                     offered=("CRS84", "EPSG:4326", *offered))
    box = _box(definition, bbox_crs, code)
    width, height = _size(box)
    fmt = _format()
    overlay = _overlay(definition)
    markers = []
    if overlay is not None and not overlay.is_empty:
        placed = crs.transform_geometries(np.asarray([overlay], dtype=object), "CRS84", code)
        markers.append(Marker(placed[0]))
    view = View(code, (box[0], box[1], box[2], box[3]), width, height)
    data = services.map_images.render(definition, view, markers=markers, fmt=fmt)
    headers = {"Content-Crs": f"<{crs.uri(code)}>",
               "Content-Bbox": ",".join(f"{v:.9g}" for v in view.bbox),
               "Cache-Control": "no-store" if overlay is not None else "public, max-age=300"}
    return Response(data, mimetype=str(MEDIA[fmt]), headers=headers)

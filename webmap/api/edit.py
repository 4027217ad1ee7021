"""OGC API - Features Part 4 (Create, Replace, Update, Delete) for staff with a bearer token.

``POST /collections/{id}/items`` creates (201, ``Location``), ``PUT`` replaces, ``PATCH``
updates with a JSON merge patch and ``DELETE`` removes ``/collections/{id}/items/{fid}``.
Coordinates are CRS84 unless ``Content-Crs`` names another CRS; ``If-Match`` with the ETag of
a GET makes the write conditional (412 when the feature changed meanwhile).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import Blueprint, Response, request

from .. import crs, edits
from ..auth import bearer_staff
from ..problems import FeatureNotFound, InvalidParameter, NotFound
from ..services import current
from .accepts import accepts
from .render import url

bp = Blueprint("edit", __name__)
ITEMS_PATH = re.compile(r"^/collections/([^/]+)/items(?:/[^/]+)?/?$")


@bp.after_app_request
def _allow_only_what_is_editable(response: Response) -> Response:
    """``OPTIONS`` on the items of a layer that is not editable names only the read methods:
    QGIS offers editing exactly where ``Allow`` lists the write methods."""
    found = ITEMS_PATH.match(request.path) if request.method == "OPTIONS" else None
    if found is None or "Allow" not in response.headers:
        return response
    try:
        editable = current().layers.layer(found.group(1)).editable
    except NotFound:
        return response
    if not editable:
        allowed = [m.strip() for m in response.headers["Allow"].split(",")]
        response.headers["Allow"] = ", ".join(m for m in allowed
                                              if m and m not in edits.WRITE_METHODS)
    return response


def _staff() -> str:
    return bearer_staff(request.headers.get("Authorization", ""), current().tokens)


def _content_crs() -> str:
    raw = request.headers.get("Content-Crs", "").strip().strip("<>").strip()
    if not raw:
        return "CRS84"
    try:
        code = crs.code_from_uri(raw)
        crs.crs_of(code)
    except Exception:  # noqa: BLE001 - pyproj and the URI parser raise several kinds
        raise InvalidParameter("Content-Crs", f"Content-Crs {raw!r} is not a CRS URI such as "
                               "<http://www.opengis.net/def/crs/EPSG/0/3067>") from None
    return code


def _body() -> Any:
    try:
        return orjson.loads(request.get_data(cache=False) or b"null")
    except orjson.JSONDecodeError:
        raise InvalidParameter("body", "the request body is not JSON") from None


def _fid(layer_id: str, feature_id: str) -> int:
    try:
        return int(feature_id)
    except ValueError:
        raise FeatureNotFound(layer_id, feature_id) from None


def _answer(layer_id: str, fid: int, tag: str | None, status: int) -> Response:
    response = Response(status=status)
    if tag is not None:
        response.headers["ETag"] = tag
    response.headers["Location"] = url(f"/collections/{layer_id}/items/{fid}")
    return response


@bp.post("/collections/<layer_id>/items")
@accepts()
def create(layer_id: str) -> Response:
    """A new feature; 201 with its ``Location`` and ``ETag``."""
    _staff()
    fid, tag = edits.edit(current().layers, layer_id, "create", body=_body(),
                          content_crs=_content_crs())
    return _answer(layer_id, fid, tag, 201)


@bp.put("/collections/<layer_id>/items/<feature_id>")
@accepts()
def replace(layer_id: str, feature_id: str) -> Response:
    """The feature replaced by the one sent."""
    _staff()
    fid, tag = edits.edit(current().layers, layer_id, "replace", fid=_fid(layer_id, feature_id),
                          body=_body(), content_crs=_content_crs(),
                          if_match=request.headers.get("If-Match"))
    return _answer(layer_id, fid, tag, 204)


@bp.patch("/collections/<layer_id>/items/<feature_id>")
@accepts()
def update(layer_id: str, feature_id: str) -> Response:
    """The feature changed by a JSON merge patch (RFC 7396)."""
    _staff()
    fid, tag = edits.edit(current().layers, layer_id, "update", fid=_fid(layer_id, feature_id),
                          body=_body(), content_crs=_content_crs(),
                          if_match=request.headers.get("If-Match"))
    return _answer(layer_id, fid, tag, 204)


@bp.delete("/collections/<layer_id>/items/<feature_id>")
@accepts()
def delete(layer_id: str, feature_id: str) -> Response:
    """The feature removed."""
    _staff()
    edits.edit(current().layers, layer_id, "delete", fid=_fid(layer_id, feature_id),
               if_match=request.headers.get("If-Match"))
    return Response(status=204)

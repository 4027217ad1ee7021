"""``GET /search?q=…&map=ID``: the place search behind the widget's combobox (SPEC §6)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from ..problems import InvalidParameter
from ..search import SearchHit
from ..services import current
from ..types import MediaType
from .accepts import accepts
from .params import parse_int
from .render import json_response

bp = Blueprint("search", __name__)
MAX_QUERY_CHARS = 100
MAX_RESULTS = 50
DEFAULT_RESULTS = 10
CACHE_CONTROL = "public, max-age=60"
"""Answers change only when a layer or map does; a minute keeps typing cheap and fresh."""


def parse_query(raw: str | None) -> str:
    """``q``: 1–100 characters once trimmed."""
    text = (raw or "").strip()
    if not text:
        raise InvalidParameter("q", "q is required: the address or place name to look for")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidParameter("q", f"q may have at most {MAX_QUERY_CHARS} characters, "
                               f"got {len(text)}")
    return text


def feature(hit: SearchHit) -> dict[str, Any]:
    """A hit as a GeoJSON Point feature; areas and lines carry their bbox."""
    properties: dict[str, Any] = {"label": hit.label, "kind": hit.kind, "layer": hit.layer,
                                  "feature_id": hit.feature_id}
    if hit.lang:
        properties["lang"] = hit.lang
    if hit.bbox is not None:
        properties["bbox"] = list(hit.bbox)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(hit.point)},
            "properties": properties}


@bp.get("/search")
@accepts("q", "map", "limit")
def search() -> Response:
    """Addresses and place names of one map's search layers, best first."""
    text = parse_query(request.args.get("q"))
    map_id = request.args.get("map", "").strip()
    if not map_id:
        raise InvalidParameter("map", "map is required: the id of the map to search in")
    limit = parse_int(request.args, "limit", default=DEFAULT_RESULTS, minimum=1,
                      maximum=MAX_RESULTS)
    services = current()
    definition = services.maps.get(map_id)
    hits = services.search.search(definition.search, text, limit=limit)
    body = {"type": "FeatureCollection", "features": [feature(hit) for hit in hits]}
    return json_response(body, MediaType.GEOJSON, headers={"Cache-Control": CACHE_CONTROL})

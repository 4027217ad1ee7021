"""Base maps webmap draws itself: their list, their definitions and their PNG tiles."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, request

from .. import __version__
from ..basemap import Basemap
from ..basemap.proxy import UpstreamError, error_tile, etag_of
from ..services import current
from ..tiles.grids import GRIDS
from ..tiles.request import TileRequest, tile_request
from ..types import MediaType
from .accepts import accepts
from .render import json_response, link, url
from .tiles import CACHE_CONTROL

bp = Blueprint("basemaps", __name__)
TILE_TEMPLATE = "/basemaps/{basemap}/tiles/{grid}/{{z}}/{{y}}/{{x}}{suffix}.png"


def _tile_urls(basemap: Basemap, suffix: str = "") -> dict[str, str]:
    return {grid_id: url(TILE_TEMPLATE.format(basemap=basemap.id, grid=grid_id, suffix=suffix))
            for grid_id in GRIDS}


def _wants_image() -> bool:
    """Browsers ask for tiles with ``image/…`` in Accept: they get an error tile, others
    problem+json."""
    return any(kind.startswith("image/") for kind, _ in request.accept_mimetypes)


def _proxied(basemap: Basemap, tile: TileRequest, scale: int) -> Response:
    """A tile of an upstream service, fetched by webmap (the browser never sees its host)."""
    try:
        data, media = current().basemaps.proxied(basemap, tile)
    except UpstreamError as exc:
        if not _wants_image():
            raise
        return Response(error_tile(256 * scale), status=exc.status, mimetype=MediaType.PNG,
                        headers={"Cache-Control": "no-store", "X-Webmap-Error": exc.detail})
    etag = etag_of(data)
    headers = {"ETag": f'"{etag}"', "Cache-Control": CACHE_CONTROL}
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(data, mimetype=media, headers=headers)


def _summary(basemap: Basemap) -> dict[str, Any]:
    return {
        "id": basemap.id,
        "title": dict(basemap.title),
        "attribution": basemap.attribution,
        "links": [link(url(f"/basemaps/{basemap.id}"), "self", MediaType.JSON,
                       basemap.title.get("en", basemap.id))] + [
            link(template, "item", MediaType.PNG, f"Tiles in {grid_id}", templated=True)
            for grid_id, template in _tile_urls(basemap).items()],
    }


@bp.get("/basemaps")
@accepts()
def basemaps() -> Response:
    """Every base map webmap draws."""
    return json_response({
        "basemaps": [_summary(b) for b in current().basemaps.all()],
        "links": [link(url("/basemaps"), "self", MediaType.JSON, "Base maps")],
    })


@bp.get("/basemaps/<basemap_id>")
@accepts()
def basemap(basemap_id: str) -> Response:
    """One base map: its palette and layers (for contrast checks) and its tile templates."""
    found = current().basemaps.get(basemap_id)
    body = _summary(found)
    body |= {"background": found.background, "proxied": found.upstream is not None,
             "high_contrast": found.high_contrast, "variant_of": found.variant_of,
             "layers": [item.to_json() for item in found.layers],
             "tiles": _tile_urls(found), "tiles@2x": _tile_urls(found, "@2x")}
    return json_response(body)


@bp.get("/basemaps/<basemap_id>/tiles/<grid_id>/<int:zoom>/<int:row>/<int:col>.png",
        defaults={"scale": 1})
@bp.get("/basemaps/<basemap_id>/tiles/<grid_id>/<int:zoom>/<int:row>/<int:col>@2x.png",
        defaults={"scale": 2})
@accepts()
def tile(basemap_id: str, grid_id: str, zoom: int, row: int, col: int, scale: int
         ) -> Response:
    """One PNG tile (``@2x``: 512 px); ``ETag`` from the file digest and layer versions."""
    found = current().basemaps.get(basemap_id)
    request_tile = tile_request(grid_id, zoom, row, col)
    if found.upstream is not None:
        return _proxied(found, request_tile, scale)
    snapshot = current().basemaps.snapshot(found)
    etag = hashlib.blake2b(f"{__version__}/basemap/{found.id}/{snapshot.version}/{grid_id}/"
                           f"{zoom}/{row}/{col}/{scale}".encode(), digest_size=12).hexdigest()
    headers = {"ETag": f'"{etag}"', "Cache-Control": CACHE_CONTROL}
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    data = current().basemaps.tile(found, request_tile, snapshot, scale=scale)
    return Response(data, mimetype=MediaType.PNG, headers=headers)

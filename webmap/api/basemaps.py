"""Base maps webmap draws itself: their list, their definitions and their PNG tiles."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from .. import __version__
from ..basemap import Basemap, BasemapService, load_basemaps
from ..grids import GRIDS
from ..settings import Settings
from ..store.cache import TileCache
from ..types import MediaType
from .render import json_response, link, url
from .tiles import CACHE_CONTROL, tile_request

bp = Blueprint("basemaps", __name__)
TILE_TEMPLATE = "/basemaps/{basemap}/tiles/{grid}/{{z}}/{{y}}/{{x}}{suffix}.png"


def service() -> BasemapService:
    """The base maps loaded once in ``init_app``."""
    basemaps: BasemapService = current_app.extensions["webmap.basemaps"]
    return basemaps


def _tile_urls(basemap: Basemap, suffix: str = "") -> dict[str, str]:
    return {grid_id: url(TILE_TEMPLATE.format(basemap=basemap.id, grid=grid_id, suffix=suffix))
            for grid_id in GRIDS}


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
def basemaps() -> Response:
    """Every base map webmap draws."""
    return json_response({
        "basemaps": [_summary(b) for b in service().all()],
        "links": [link(url("/basemaps"), "self", MediaType.JSON, "Base maps")],
    })


@bp.get("/basemaps/<basemap_id>")
def basemap(basemap_id: str) -> Response:
    """One base map: its palette and layers (for contrast checks) and its tile templates."""
    found = service().get(basemap_id)
    body = _summary(found)
    body |= {"background": found.background,
             "layers": [item.to_json() for item in found.layers],
             "tiles": _tile_urls(found), "tiles@2x": _tile_urls(found, "@2x")}
    return json_response(body)


@bp.get("/basemaps/<basemap_id>/tiles/<grid_id>/<int:zoom>/<int:row>/<int:col>.png",
        defaults={"scale": 1})
@bp.get("/basemaps/<basemap_id>/tiles/<grid_id>/<int:zoom>/<int:row>/<int:col>@2x.png",
        defaults={"scale": 2})
def tile(basemap_id: str, grid_id: str, zoom: int, row: int, col: int, scale: int
         ) -> Response:
    """One PNG tile (``@2x``: 512 px); ``ETag`` from the file digest and layer versions."""
    found = service().get(basemap_id)
    request_tile = tile_request(grid_id, zoom, row, col)
    snapshot = service().snapshot(found)
    etag = hashlib.blake2b(f"{__version__}/basemap/{found.id}/{snapshot.version}/{grid_id}/"
                           f"{zoom}/{row}/{col}/{scale}".encode(), digest_size=12).hexdigest()
    headers = {"ETag": f'"{etag}"', "Cache-Control": CACHE_CONTROL}
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    data = service().tile(found, request_tile, snapshot, scale=scale)
    return Response(data, mimetype=MediaType.PNG, headers=headers)


def init_app(app: Flask) -> None:
    """Load ``<styles_dir>/basemaps`` once (a bad file stops start-up) and add the routes."""
    settings: Settings = app.extensions["webmap.settings"]
    cache = TileCache(settings.data_dir / "cache" / "basemaps", enabled=settings.tile_cache)
    app.extensions["webmap.basemaps"] = BasemapService(
        load_basemaps(settings.styles_dir / "basemaps"), app.extensions["webmap.store"], cache)
    app.register_blueprint(bp)

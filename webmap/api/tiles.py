"""OGC API - Tiles: tileset lists and metadata, TileJSON 3.0.0, MVT and PNG tiles."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, request

from .. import __version__, crs
from ..problems import NotFound
from ..services import current
from ..tiles.grids import GRID_EPSG, GRIDS, grid
from ..tiles.request import tile_request
from ..types import LayerInfo, LayerKind, MediaType
from .accepts import accepts
from .render import json_only, json_response, link, url

bp = Blueprint("tiles", __name__)
TILE_TEMPLATE = "/collections/{layer}/tiles/{grid}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
CACHE_CONTROL = "public, max-age=60"
TILEJSON_TYPE = "application/vnd.mapbox.tile+json"
SUFFIXES_VECTOR = ("mvt", "pbf")
SUFFIXES_RASTER = ("png",)


def _grids_for(info: LayerInfo) -> list[str]:
    """Grids whose CRS can hold the layer (WebMercatorQuad always)."""
    return [grid_id for grid_id in GRIDS
            if grid_id == "WebMercatorQuad" or crs.covers(GRID_EPSG[grid_id], info.bbox)]


def _tileset_summary(info: LayerInfo, grid_id: str) -> dict[str, Any]:
    tms = GRIDS[grid_id]
    base = f"/collections/{info.id}/tiles/{grid_id}"
    vector = info.kind is LayerKind.VECTOR
    return {
        "title": f"{info.title} ({grid_id})",
        "dataType": "vector" if vector else "map",
        "crs": crs.uri(GRID_EPSG[grid_id]),
        "tileMatrixSetURI": tms.uri or url(f"/tileMatrixSets/{grid_id}"),
        "links": [
            link(url(base), "self", MediaType.JSON, "Tileset metadata"),
            link(url(f"/tileMatrixSets/{grid_id}"),
                 "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", MediaType.JSON,
                 f"The {grid_id} tile matrix set"),
            link(url(TILE_TEMPLATE.format(layer=info.id, grid=grid_id)), "item",
                 MediaType.MVT if vector else MediaType.PNG, "Tiles", templated=True),
            link(url(f"{base}/tilejson.json"), "describedby", TILEJSON_TYPE,
                 "TileJSON 3.0.0"),
        ],
    }


@bp.get("/collections/<layer_id>/tiles")
@accepts("f")
def tilesets(layer_id: str) -> Response:
    """The tilesets of a collection, one per grid."""
    json_only()
    info = current().layers.layer(layer_id)
    return json_response({
        "links": [link(url(f"/collections/{layer_id}/tiles"), "self", MediaType.JSON,
                       "Tilesets")],
        "tilesets": [_tileset_summary(info, g) for g in _grids_for(info)],
    })


def _check_grid(info: LayerInfo, grid_id: str) -> None:
    grid(grid_id)
    if grid_id not in _grids_for(info):
        raise NotFound(f"collection {info.id!r} lies outside the {grid_id} grid's area")


def _zoom_range(info: LayerInfo, grid_id: str) -> tuple[int, int]:
    tms = GRIDS[grid_id]
    return tms.minzoom, min(tms.maxzoom, 22)


@bp.get("/collections/<layer_id>/tiles/<grid_id>")
@accepts("f")
def tileset(layer_id: str, grid_id: str) -> Response:
    """Tileset metadata with the TileJSON link and the vector layer's fields."""
    json_only()
    info = current().layers.layer(layer_id)
    _check_grid(info, grid_id)
    body = _tileset_summary(info, grid_id)
    minzoom, maxzoom = _zoom_range(info, grid_id)
    body["boundingBox"] = {"lowerLeft": list(info.bbox[:2]), "upperRight": list(info.bbox[2:]),
                           "crs": crs.uri("CRS84")}
    body["tileMatrixSetLimits"] = _limits(info, grid_id, minzoom, maxzoom)
    if info.kind is LayerKind.VECTOR:
        body["layers"] = [{"id": info.id, "dataType": "vector",
                           "geometryDimension": _dimension(info.geometry_type),
                           "propertiesSchema": {"type": "object", "properties": {
                               f.name: {"type": "string", "format": f.type}
                               if f.type in {"date", "datetime"} else {"type": f.type}
                               for f in info.fields}}}]
    return json_response(body)


def _dimension(geometry_type: str) -> int | None:
    kind = geometry_type.removeprefix("Multi")
    return {"Point": 0, "LineString": 1, "Polygon": 2}.get(kind)


def _limits(info: LayerInfo, grid_id: str, minzoom: int, maxzoom: int
            ) -> list[dict[str, Any]]:
    """The rows and columns that hold the layer, per zoom level."""
    tms = GRIDS[grid_id]
    limits = []
    for zoom in range(minzoom, maxzoom + 1):
        matrix = tms.matrix(zoom)
        ul = tms.tile(info.bbox[0], info.bbox[3], zoom)
        lr = tms.tile(info.bbox[2], info.bbox[1], zoom)
        limits.append({
            "tileMatrix": str(zoom),
            "minTileRow": max(0, ul.y), "maxTileRow": min(matrix.matrixHeight - 1, lr.y),
            "minTileCol": max(0, ul.x), "maxTileCol": min(matrix.matrixWidth - 1, lr.x),
        })
    return limits


@bp.get("/collections/<layer_id>/tiles/<grid_id>/tilejson.json")
@accepts("f")
def tilejson(layer_id: str, grid_id: str) -> Response:
    """TileJSON 3.0.0; for national grids the template uses that grid's rows and columns."""
    json_only()
    info = current().layers.layer(layer_id)
    _check_grid(info, grid_id)
    minzoom, maxzoom = _zoom_range(info, grid_id)
    body: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": info.title,
        "tiles": [url(f"/collections/{info.id}/tiles/{grid_id}/{{z}}/{{y}}/{{x}}")],
        "scheme": "xyz",
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": list(info.bbox),
        "center": [(info.bbox[0] + info.bbox[2]) / 2, (info.bbox[1] + info.bbox[3]) / 2,
                   minzoom],
    }
    if info.attribution:
        body["attribution"] = info.attribution
    if info.kind is LayerKind.VECTOR:
        body["vector_layers"] = [{"id": info.id, "fields": {f.name: f.type
                                                            for f in info.fields},
                                  "minzoom": minzoom, "maxzoom": maxzoom}]
    return json_response(body)


@bp.get("/collections/<layer_id>/tiles/<grid_id>/<int:zoom>/<int:row>/<int:col>")
@bp.get("/collections/<layer_id>/tiles/<grid_id>/<int:zoom>/<int:row>/<int:col>.<suffix>")
@accepts()
def tile(layer_id: str, grid_id: str, zoom: int, row: int, col: int,
         suffix: str | None = None) -> Response:
    """One tile; ``ETag`` from the layer version, so ``If-None-Match`` skips rendering.
    ``.mvt``/``.pbf`` (vector) and ``.png`` (raster) suffixes are aliases for clients that
    infer the format from the URL (GDAL's MVT driver over /vsicurl/)."""
    info = current().layers.layer(layer_id)
    if suffix is not None and suffix not in (
            SUFFIXES_VECTOR if info.kind is LayerKind.VECTOR else SUFFIXES_RASTER):
        raise NotFound(f"collection {layer_id!r} has no .{suffix} tiles; use "
                       + " or ".join(f".{s}" for s in (
                           SUFFIXES_VECTOR if info.kind is LayerKind.VECTOR
                           else SUFFIXES_RASTER)) + " or no suffix")
    _check_grid(info, grid_id)
    request_tile = tile_request(grid_id, zoom, row, col)
    vector = info.kind is LayerKind.VECTOR
    etag = hashlib.blake2b(f"{__version__}/{info.id}/{info.version}/{grid_id}/{zoom}/{row}/"
                           f"{col}".encode(), digest_size=12).hexdigest()
    headers = {"ETag": f'"{etag}"', "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    services = current()
    if vector:
        data = services.tile_cache.fetch(
            info, request_tile, "mvt", lambda: services.layers.vector_tile(info, request_tile))
    else:
        data = services.tile_cache.fetch(
            info, request_tile, "png", lambda: services.layers.raster_tile(info, request_tile))
    if not data:
        empty = Response(status=204, headers=headers)
        del empty.headers["Content-Type"]
        return empty
    return Response(data, mimetype=MediaType.MVT if vector else MediaType.PNG, headers=headers)


@bp.get("/tileMatrixSets")
@accepts("f")
def tile_matrix_sets() -> Response:
    """The grids webmap serves."""
    json_only()
    return json_response({"tileMatrixSets": [
        {"id": grid_id, "title": tms.title or grid_id, "uri": tms.uri,
         "crs": crs.uri(GRID_EPSG[grid_id]),
         "links": [link(url(f"/tileMatrixSets/{grid_id}"), "self", MediaType.JSON, grid_id)]}
        for grid_id, tms in GRIDS.items()]})


@bp.get("/tileMatrixSets/<grid_id>")
@accepts("f")
def tile_matrix_set(grid_id: str) -> Response:
    """One grid's definition (OGC Two Dimensional Tile Matrix Set 2.0 JSON)."""
    json_only()
    tms = grid(grid_id)
    return Response(tms.model_dump_json(exclude_none=True, by_alias=True),
                    mimetype=MediaType.JSON)

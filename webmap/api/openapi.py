"""The OpenAPI 3.0 document of the service, built once per base URL."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .. import __version__
from ..tiles.grids import GRIDS
from ..types import Field
from .params import DEFAULT_LIMIT, MAX_LIMIT
from .search import DEFAULT_RESULTS, MAX_QUERY_CHARS, MAX_RESULTS


def _param(name: str, where: str, schema: dict[str, Any], description: str, *,
           required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path",
            "description": description, "schema": schema, **extra}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{name}"}


def _ok(description: str, *media_types: str, schema: dict[str, Any] | None = None
        ) -> dict[str, Any]:
    body = schema or {"type": "object"}
    return {"description": description,
            "content": {media: {"schema": body if "json" in media else {"type": "string"}}
                        for media in media_types}}


def _operation(op_id: str, summary: str, tag: str, parameters: list[dict[str, Any]],
               responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"operationId": op_id, "summary": summary, "tags": [tag],
                    "parameters": parameters,
                    "responses": {**responses,
                                  "400": _ref("responses/Problem"),
                                  "404": _ref("responses/Problem"),
                                  "500": _ref("responses/Problem")}}}


PROPERTY_SCHEMAS: dict[str, dict[str, str]] = {
    "integer": {"type": "integer"}, "number": {"type": "number"},
    "boolean": {"type": "boolean"}, "string": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}

Collections = tuple[tuple[str, tuple[Field, ...]], ...]
"""Each vector collection's id and queryable properties: what its own items path declares."""


def _items_parameters(collection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [collection or _ref("parameters/collectionId"),
            *(_ref(f"parameters/{name}") for name in (
                "bbox", "bbox-crs", "datetime", "limit", "offset", "after", "crs", "filter",
                "filter-lang", "filter-crs", "geometry", "f"))]


def _collection_items(collection_id: str, fields: tuple[Field, ...],
                      template: dict[str, Any]) -> dict[str, Any]:
    """``/collections/{id}/items`` with each property as an optional equality filter, so
    that clients (GDAL's OAPIF driver) send attribute filters to the server."""
    operation = dict(template["get"])
    operation["operationId"] = f"getFeatures-{collection_id}"
    operation["summary"] = f"Features of {collection_id}"
    operation["parameters"] = [
        *(p for p in operation["parameters"] if p != _ref("parameters/collectionId")),
        *(_param(field.name, "query", PROPERTY_SCHEMAS.get(field.type, {"type": "string"}),
                 f"Only features whose {field.name} equals this value.")
          for field in fields)]
    return {"get": operation}


def _write(op_id: str, summary: str, parameters: list[dict[str, Any]],
           media: str | None, done: dict[str, Any]) -> dict[str, Any]:
    """An OGC API - Features Part 4 operation (staff bearer token)."""
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary, "tags": ["Editing"],
        "security": [{"staffToken": []}], "parameters": parameters,
        "responses": {**done, **{code: _ref("responses/Problem")
                                 for code in ("400", "401", "404", "409", "412", "500")}}}
    if media is not None:
        operation["requestBody"] = {"required": True, "content": {media: {
            "schema": _ref("schemas/Feature") if "geo" in media else {"type": "object"}}}}
    return operation


def _add_writes(paths: dict[str, Any], collection: dict[str, Any]) -> None:
    """Create, replace, update and delete (Part 4) beside the read operations."""
    content_crs = _param("Content-Crs", "header", {"type": "string"},
                         "The CRS of the coordinates sent, as <URI>; CRS84 if absent.")
    if_match = _param("If-Match", "header", {"type": "string"},
                      "The feature's ETag from a GET: the write is refused (412) if the "
                      "feature changed since.")
    feature = _param("featureId", "path", {"type": "integer", "minimum": 1}, "The feature's id.")
    written = {"description": "Done; ETag and Location name the feature"}
    paths["/collections/{collectionId}/items"]["post"] = _write(
        "createFeature", "Add a feature", [collection, content_crs], "application/geo+json",
        {"201": written})
    one = paths["/collections/{collectionId}/items/{featureId}"]
    one["put"] = _write("replaceFeature", "Replace a feature",
                        [collection, feature, content_crs, if_match], "application/geo+json",
                        {"204": written})
    one["patch"] = _write("updateFeature", "Change a feature with a JSON merge patch",
                          [collection, feature, content_crs, if_match],
                          "application/merge-patch+json", {"204": written})
    one["delete"] = _write("deleteFeature", "Remove a feature", [collection, feature, if_match],
                           None, {"204": {"description": "Removed"}})


@lru_cache(maxsize=8)
def openapi_document(server_url: str, collections: Collections = ()) -> dict[str, Any]:
    """Paths of OGC API - Features Parts 1-3 and Tiles, with the problem response; each
    vector collection also has its own items path declaring its property filters."""
    f_param = _ref("parameters/f")
    f_json = _ref("parameters/f-json")
    collection = _ref("parameters/collectionId")
    tile_params = [collection, _ref("parameters/tileMatrixSetId"),
                   _param("tileMatrix", "path", {"type": "integer", "minimum": 0},
                          "Zoom level of the tile matrix set."),
                   _param("tileRow", "path", {"type": "integer", "minimum": 0}, "Tile row."),
                   _param("tileCol", "path", {"type": "integer", "minimum": 0},
                          "Tile column.")]
    paths: dict[str, Any] = {
        "/": _operation("getLandingPage", "Landing page", "Capabilities", [f_param],
                        {"200": _ok("Links to the API", "application/json", "text/html")}),
        "/conformance": _operation(
            "getConformance", "Conformance classes", "Capabilities", [f_param],
            {"200": _ok("Implemented conformance classes", "application/json", "text/html")}),
        "/api": _operation("getApi", "This document", "Capabilities", [f_param],
                           {"200": _ok("OpenAPI 3.0",
                                       "application/vnd.oai.openapi+json;version=3.0")}),
        "/collections": _operation(
            "getCollections", "Collections", "Data", [f_param],
            {"200": _ok("Every layer", "application/json", "text/html")}),
        "/collections/{collectionId}": _operation(
            "describeCollection", "One collection", "Data", [collection, f_param],
            {"200": _ok("The collection", "application/json", "text/html")}),
        "/collections/{collectionId}/items": _operation(
            "getFeatures", "Features of a collection", "Data", _items_parameters(),
            {"200": _ok("A page of features", "application/geo+json", "text/html",
                        schema=_ref("schemas/FeatureCollection"))}),
        "/collections/{collectionId}/queryables": _operation(
            "getQueryables", "Properties a filter may use", "Data", [collection, f_json],
            {"200": _ok("A JSON Schema of the queryables", "application/schema+json")}),
        "/collections/{collectionId}/items/{featureId}": _operation(
            "getFeature", "One feature", "Data",
            [collection, _param("featureId", "path", {"type": "integer", "minimum": 1},
                                "The feature's id."), _ref("parameters/crs"), f_param],
            {"200": _ok("The feature", "application/geo+json", "text/html")}),
        "/collections/{collectionId}/tiles": _operation(
            "getTilesets", "Tilesets of a collection", "Tiles", [collection, f_json],
            {"200": _ok("Tilesets", "application/json")}),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}": _operation(
            "getTileset", "Tileset metadata", "Tiles",
            [collection, _ref("parameters/tileMatrixSetId"), f_json],
            {"200": _ok("Tileset", "application/json")}),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json": _operation(
            "getTileJSON", "TileJSON 3.0.0 of a tileset", "Tiles",
            [collection, _ref("parameters/tileMatrixSetId"), f_json],
            {"200": _ok("TileJSON", "application/json")}),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}":
            _operation("getTile", "A tile: MVT for vector layers, PNG for rasters", "Tiles",
                       tile_params,
                       {"200": _ok("The tile", "application/vnd.mapbox-vector-tile",
                                   "image/png"),
                        "204": {"description": "Empty tile"},
                        "304": {"description": "Not modified (If-None-Match)"}}),
        "/tileMatrixSets": _operation("getTileMatrixSets", "Tile matrix sets", "Tiles", [f_json],
                                      {"200": _ok("Tile matrix sets", "application/json")}),
        "/tileMatrixSets/{tileMatrixSetId}": _operation(
            "getTileMatrixSet", "One tile matrix set", "Tiles",
            [_ref("parameters/tileMatrixSetId"), f_json],
            {"200": _ok("Tile matrix set", "application/json")}),
        "/search": _operation(
            "searchPlaces", "Addresses and place names of a map, best first", "Data",
            [_param("q", "query", {"type": "string", "minLength": 1,
                                   "maxLength": MAX_QUERY_CHARS},
                    "What was typed: a prefix of an address (street and house number) or a "
                    "place name; case and accents do not matter.", required=True),
             _param("map", "query", {"type": "string"}, "The id of the map to search in.",
                    required=True, example="helsinki-keskusta"),
             _param("limit", "query", {"type": "integer", "minimum": 1,
                                       "maximum": MAX_RESULTS, "default": DEFAULT_RESULTS},
                    f"Results at most (larger values are capped at {MAX_RESULTS}).")],
            {"200": _ok("Point features with label, kind, layer, feature_id (and lang, bbox)",
                        "application/geo+json", schema=_ref("schemas/FeatureCollection"))}),
        "/plans": _operation("getPlans", "Plans imported from the national models (Ryhti, "
                             "NGP detaljplan)", "Plans", [f_param],
                             {"200": _ok("The plans", "application/json")}),
        "/plans/{planId}": _operation(
            "getPlan", "One plan: metadata, general regulations, regulation groups with their "
            "regulations (values and text in fi, sv, en) and links to its layers", "Plans",
            [_param("planId", "path", {"type": "string"}, "The plan's id.", required=True,
                    example="ryhti-testikaava"), f_param],
            {"200": _ok("The plan", "application/json"),
             "404": _ok("No such plan", "application/problem+json")}),
        "/maps": _operation("getMaps", "Published maps", "Maps", [f_param],
                            {"200": _ok("The maps", "application/json")}),
        "/maps/{mapId}": _operation("getMap", "One map: layers, base, extent, consultation",
                                    "Maps", [_ref("parameters/mapId"), f_param,
                                             _ref("parameters/lang")],
                                    {"200": _ok("The map", "application/json", "text/html")}),
        "/maps/{mapId}/comments": {
            **_operation("getComments", "Published comments of a map, without personal data",
                         "Maps", [_ref("parameters/mapId")],
                         {"200": _ok("Comments", "application/geo+json",
                                     schema=_ref("schemas/FeatureCollection"))}),
            "post": {"operationId": "postComment", "summary": "Comment on a map while its "
                     "consultation is open", "tags": ["Maps"],
                     "parameters": [_ref("parameters/mapId"),
                                    _param("Idempotency-Key", "header", {"type": "string"},
                                           "One per comment; a retry with the same key "
                                           "never stores it twice.")],
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": _ref("schemas/Comment")},
                         "multipart/form-data": {"schema": {
                             "type": "object", "required": ["comment"],
                             "properties": {
                                 "comment": {"type": "string", "description": "The comment's "
                                             "JSON object, as in an application/json post."},
                                 "photo": {"type": "array", "maxItems": 3, "items": {
                                     "type": "string", "format": "binary"},
                                     "description": "JPEG, PNG (HEIC where pillow-heif is "
                                     "installed), at most WEBMAP_PHOTO_MAX_MB each; re-encoded "
                                     "without metadata."},
                                 "photo_alt": {"type": "array", "maxItems": 3, "items": {
                                     "type": "string", "minLength": 1, "maxLength": 300},
                                     "description": "One description (alt text) per photo, "
                                     "in the same order."}}},
                             "encoding": {"photo": {"contentType": "image/jpeg, image/png, "
                                                                   "image/heic"}}}}},
                     "responses": {"201": _ok("Stored", "application/json"),
                                   "200": _ok("A retry of a stored comment",
                                              "application/json"),
                                   **{code: _ref("responses/Problem")
                                      for code in ("400", "404", "409", "413", "415", "422",
                                                   "429", "500")}}}},
        "/maps/{mapId}/comments/{commentId}/photos/{n}": _operation(
            "getCommentPhoto", "A photo of a published comment (JPEG without metadata)", "Maps",
            [_ref("parameters/mapId"),
             _param("commentId", "path", {"type": "string"}, "The comment's id."),
             _param("n", "path", {"type": "integer", "minimum": 1, "maximum": 3},
                    "The photo's place among the comment's photos.")],
            {"200": _ok("The photo", "image/jpeg")}),
        "/basemaps": _operation("getBasemaps", "Base maps webmap draws itself", "Maps", [],
                                {"200": _ok("The base maps", "application/json")}),
        "/healthz": _operation("getHealth", "The process answers", "Operations", [],
                               {"200": _ok("Alive", "application/json")}),
        "/readyz": _operation("getReady", "Storage answers", "Operations", [],
                              {"200": _ok("Ready", "application/json"),
                               "503": _ref("responses/Problem")}),
    }
    _add_writes(paths, collection)
    for collection_id, fields in collections:
        paths[f"/collections/{collection_id}/items"] = _collection_items(
            collection_id, fields, paths["/collections/{collectionId}/items"])
    components = {
        "parameters": {
            "f": _param("f", "query", {"type": "string", "enum": ["json", "html", "geojson"]},
                        "Response format; default by the Accept header (JSON)."),
            "f-json": _param("f", "query", {"type": "string", "enum": ["json"]},
                             "Response format: JSON only."),
            "lang": _param("lang", "query", {"type": "string", "enum": ["fi", "sv", "en"]},
                           "Language of the page; one of the map's languages (its default "
                           "otherwise)."),
            "after": _param("after", "query", {"type": "integer", "minimum": 0},
                            "Keyset cursor: only features whose id is greater. The server's "
                            "own next links carry it."),
            "collectionId": _param("collectionId", "path", {"type": "string"},
                                   "The layer's id."),
            "mapId": _param("mapId", "path", {"type": "string"}, "The map's id.",
                            example="paimio-asemakaava"),
            "tileMatrixSetId": _param("tileMatrixSetId", "path",
                                      {"type": "string", "enum": list(GRIDS)},
                                      "Tile matrix set."),
            "bbox": _param("bbox", "query",
                           {"type": "array", "minItems": 4, "maxItems": 6,
                            "items": {"type": "number"}},
                           "Features intersecting minx,miny,maxx,maxy (in bbox-crs, CRS84 by "
                           "default).", style="form", explode=False),
            "bbox-crs": _param("bbox-crs", "query", {"type": "string", "format": "uri"},
                               "CRS of bbox; one of the collection's crs list."),
            "crs": _param("crs", "query", {"type": "string", "format": "uri"},
                          "CRS of the response geometry; one of the collection's crs list."),
            "limit": _param("limit", "query",
                            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                             "default": DEFAULT_LIMIT},
                            f"Features per page (larger values are capped at {MAX_LIMIT}).",
                            style="form", explode=False),
            "filter": _param("filter", "query", {"type": "string"},
                             "A CQL2 filter on the collection's queryables, e.g. "
                             "status = 'proposal' AND S_INTERSECTS(geometry, "
                             "POINT(24.94 60.17)). Basic CQL2 with LIKE, IN, BETWEEN, CASEI, "
                             "ACCENTI and the S_ spatial functions."),
            "filter-lang": _param("filter-lang", "query",
                                  {"type": "string", "enum": ["cql2-text", "cql2-json"],
                                   "default": "cql2-text"},
                                  "The language of filter."),
            "filter-crs": _param("filter-crs", "query", {"type": "string", "format": "uri"},
                                 "CRS of the geometry literals in filter (CRS84 by default); "
                                 "one of the collection's crs list."),
            "datetime": _param("datetime", "query", {"type": "string"},
                               "Features whose temporal property (the collection's "
                               "temporalProperty) lies at an instant or in an interval: "
                               "2024-05-01, 2024-05-01T12:00:00Z, 2024-01-01/2024-06-30, "
                               "2024-01-01/.. or ../2024-06-30 (RFC 3339; a date is the "
                               "whole day).", style="form", explode=False),
            "geometry": _param("geometry", "query", {"type": "string"},
                               "Features intersecting this WKT geometry in CRS84, e.g. "
                               "POINT(24.94 60.17)."),
            "offset": _param("offset", "query", {"type": "integer", "minimum": 0,
                                                 "default": 0},
                             "Features to skip; next links add a cursor that keeps deep "
                             "pages fast."),
        },
        "schemas": {
            "FeatureCollection": {
                "type": "object", "required": ["type", "features"],
                "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                               "features": {"type": "array", "items": {"type": "object"}},
                               "numberMatched": {"type": "integer", "minimum": 0},
                               "numberReturned": {"type": "integer", "minimum": 0},
                               "links": {"type": "array", "items": {"type": "object"}}}},
            "Comment": {
                "type": "object", "required": ["text", "language"],
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 5000},
                    "geometry": {"type": "object", "description": "GeoJSON in CRS84"},
                    "feature": {"type": "object", "properties": {
                        "collection": {"type": "string"},
                        "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]}}},
                    "name": {"type": "string", "maxLength": 200},
                    "email": {"type": "string", "maxLength": 254},
                    "language": {"type": "string", "enum": ["fi", "sv", "en"]}}},
            "Feature": {
                "type": "object", "required": ["type", "geometry"],
                "properties": {"type": {"type": "string", "enum": ["Feature"]},
                               "geometry": {"type": "object"},
                               "properties": {"type": "object"}}},
            "Problem": {
                "type": "object", "required": ["title", "status", "detail"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                               "status": {"type": "integer"}, "detail": {"type": "string"}}},
        },
        "securitySchemes": {"staffToken": {
            "type": "http", "scheme": "bearer",
            "description": "A staff token (webmap tokens create NAME)."}},
        "responses": {
            "Problem": {"description": "An RFC 9457 problem",
                        "content": {"application/problem+json":
                                    {"schema": _ref("schemas/Problem")}}},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "webmap", "version": __version__,
                 "description": "Accessible web maps for municipal e-services: OGC API - "
                                "Features (Parts 1, 2 and 3) and OGC API - Tiles.",
                 "license": {"name": "EUPL-1.2"}},
        "servers": [{"url": server_url or "/"}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}, {"name": "Tiles"},
                 {"name": "Maps"}, {"name": "Plans"}, {"name": "Operations"}],
        "paths": paths,
        "components": components,
    }

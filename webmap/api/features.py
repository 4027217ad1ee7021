"""OGC API - Features Part 1 (Core, GeoJSON, HTML) and Part 2 (CRS by reference)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import shapely
from flask import Blueprint, Response, request

from .. import crs, edits
from ..problems import FeatureNotFound, InvalidParameter, NotFound
from ..services import current
from ..types import CRS84, ItemPage, LayerInfo, LayerKind, MediaType
from . import filters, params
from .accepts import accepts
from .openapi import PROPERTY_SCHEMAS
from .render import json_only, json_response, link, respond, self_links, url, wants_html

bp = Blueprint("features", __name__)
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
SCHEMA_TYPES = PROPERTY_SCHEMAS
GEOMETRY_FORMATS = {
    "Point": "geometry-point-or-multipoint", "MultiPoint": "geometry-point-or-multipoint",
    "LineString": "geometry-linestring-or-multilinestring",
    "MultiLineString": "geometry-linestring-or-multilinestring",
    "Polygon": "geometry-polygon-or-multipolygon",
    "MultiPolygon": "geometry-polygon-or-multipolygon",
}
"""OGC API - Features Part 5 formats; a layer holds one family, single or multi."""


def offered_crs(info: LayerInfo) -> list[str]:
    """CRS84 first, then each CRS whose area of use holds the data, then the layer's own,
    always: a GK zone is used by whole municipalities beyond EPSG's narrow strip (Turku in
    GK23), and data imported in a CRS can always be given back in it."""
    codes = ["CRS84"]
    for code in (f"EPSG:{n}" for n in crs.OUTPUT_EPSG):
        if code not in codes and crs.covers(code, info.bbox):
            codes.append(code)
    own = info.source_crs
    if own and own != "CRS84" and own not in codes and _usable(own):
        codes.append(own)
    return codes


def _usable(code: str) -> bool:
    try:
        crs.crs_of(code)
    except Exception:  # noqa: BLE001 - a catalogue value that pyproj cannot read
        return False
    return True


CRS84_DECIMALS = 8
"""Decimals of a degree in served CRS84 coordinates (about a millimetre)."""
PROJECTED_DECIMALS = 3


def outward(bbox: tuple[float, float, float, float]) -> list[float]:
    """The CRS84 extent rounded outward to the served precision, so that every served
    (rounded) coordinate lies inside it (/req/core/fc-md-extent)."""
    scale = 10 ** CRS84_DECIMALS
    minx, miny, maxx, maxy = bbox
    return [math.floor(minx * scale) / scale, math.floor(miny * scale) / scale,
            math.ceil(maxx * scale) / scale, math.ceil(maxy * scale) / scale]


def link_header(links: list[dict[str, Any]]) -> str:
    """The links as an RFC 8288 ``Link`` header (/rec/core/link-header)."""
    return ", ".join(f'<{item["href"]}>; rel="{item["rel"]}"; type="{item["type"]}"'
                     for item in links)


def collection_body(info: LayerInfo) -> dict[str, Any]:
    """The collection resource, used in ``/collections`` and ``/collections/{id}``."""
    path = f"/collections/{info.id}"
    links = [
        link(url(path, f="json"), "self", MediaType.JSON, "This collection as JSON"),
        link(url(path, f="html"), "alternate", MediaType.HTML, "This collection as HTML"),
        link(url(f"{path}/tiles"), "http://www.opengis.net/def/rel/ogc/1.0/tilesets-"
             + ("vector" if info.kind is LayerKind.VECTOR else "map"),
             MediaType.JSON, "Tilesets of this collection"),
    ]
    body: dict[str, Any] = {
        "id": info.id,
        "title": info.title,
        "description": info.description or info.title,
        "extent": {"spatial": {"bbox": [outward(info.bbox)], "crs": CRS84}},
        "links": links,
    }
    if info.kind is LayerKind.VECTOR:
        links[2:2] = [
            link(url(f"{path}/items", f="json"), "items", MediaType.GEOJSON,
                 "Features as GeoJSON"),
            link(url(f"{path}/items", f="html"), "items", MediaType.HTML, "Features as HTML"),
            link(url(f"{path}/queryables"), QUERYABLES_REL, SCHEMA_JSON,
                 "Properties this collection can be filtered by"),
        ]
        body.update(itemType="feature", crs=[crs.uri(c) for c in offered_crs(info)],
                    storageCrs=CRS84)
        body["extent"]["spatial"]["storageCrsBbox"] = [outward(info.bbox)]
        body["geometryType"] = info.geometry_type
        body["numberOfFeatures"] = info.feature_count
    else:
        body["dataType"] = "map"
    temporal = info.temporal_field if info.kind is LayerKind.VECTOR else None
    if temporal is not None:
        body["extent"]["temporal"] = {"interval": [list(info.time_extent)],
                                      "trs": "http://www.opengis.net/def/uom/ISO-8601/0/"
                                             "Gregorian"}
        body["temporalProperty"] = temporal.name
    if info.attribution:
        body["attribution"] = info.attribution
    return body


@bp.get("/collections")
@accepts("f")
def collections() -> Response:
    """The feature collections. Rasters are left out: feature clients (GDAL's OAPIF driver,
    QGIS) take every listed collection for features whatever it says; the landing page links
    each raster's tilesets, and ``/collections/{id}`` describes it."""
    layers = [info for info in current().layers.layers() if info.kind is LayerKind.VECTOR]
    body = {
        "links": self_links("/collections", MediaType.JSON, "Collections"),
        "crs": sorted({crs.uri(c) for info in layers if info.kind is LayerKind.VECTOR
                       for c in offered_crs(info)}),
        "collections": [collection_body(info) for info in layers],
    }
    return respond(body, "collections.html", title="Collections")


@bp.get("/collections/<layer_id>")
@accepts("f")
def collection(layer_id: str) -> Response:
    """One layer's description."""
    info = current().layers.layer(layer_id)
    wants_html()  # reject a bad f= before doing anything else
    return respond(collection_body(info), "collection.html", title=info.title, info=info)


@bp.get("/collections/<layer_id>/queryables")
@accepts("f")
def queryables(layer_id: str) -> Response:
    """The properties a filter may use, as a JSON Schema (OGC API - Features Part 3)."""
    info = current().layers.layer(layer_id)
    if info.kind is not LayerKind.VECTOR:
        raise NotFound(f"collection {layer_id!r} is a raster: it has tiles, not queryables")
    json_only()
    properties: dict[str, Any] = {filters.GEOMETRY: {
        "title": "Geometry", "x-ogc-role": "primary-geometry",
        "format": GEOMETRY_FORMATS.get(info.geometry_type, "geometry-any")}}
    for field in info.fields:
        properties[field.name] = {"title": field.name,
                                  **SCHEMA_TYPES.get(field.type, {"type": "string"})}
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": url(f"/collections/{layer_id}/queryables"), "type": "object",
            "title": info.title, "properties": properties, "additionalProperties": False}
    return json_response(body, SCHEMA_JSON)


def feature_collection(page: ItemPage, out_crs: str) -> list[dict[str, Any]]:
    """GeoJSON features with geometry in ``out_crs`` and its axis order, rounded to about a
    millimetre (8 decimals of a degree, 3 of a metre): shorter to send and to parse."""
    geoms = page.geometries if out_crs == "CRS84" else crs.to_output(page.geometries, out_crs)
    decimals = CRS84_DECIMALS if crs.crs_of(out_crs).is_geographic else PROJECTED_DECIMALS
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    texts = shapely.to_geojson(geoms) if len(geoms) else []
    return [{"type": "Feature", "id": fid, "geometry": orjson.Fragment(text),
             "properties": props}
            for fid, text, props in zip(page.ids, texts, page.properties, strict=True)]


@bp.get("/collections/<layer_id>/items")
@accepts(*params.ITEMS_PARAMS, properties=True)
def items(layer_id: str) -> Response:
    """Features, paged in fid order with ``next`` links that carry a keyset cursor."""
    info = current().layers.layer(layer_id)
    offered = offered_crs(info)
    html = wants_html()
    query, out_crs = params.parse_items(request.args, info, offered)
    if info.kind is not LayerKind.VECTOR:
        raise InvalidParameter("collectionId", f"{layer_id!r} is a raster: it has tiles, "
                               "not features")
    page = current().layers.items(info, query)
    path = f"/collections/{layer_id}/items"
    keep = {k: v for k, v in request.args.items() if k not in {"offset", "after", "f"}}
    fmt = "html" if html else "json"
    links = self_links(path, MediaType.GEOJSON, "This page")
    query_args = {k: v for k, v in request.args.items() if k != "f"}
    for item in links:  # self/alternate keep the query
        item["href"] = url(path, **query_args,
                           f="html" if item["type"] == MediaType.HTML else "json")
    if page.next_after is not None:
        links.append(link(url(path, **keep, offset=query.offset + query.limit,
                              after=page.next_after, f=fmt),
                          "next", MediaType.HTML if html else MediaType.GEOJSON, "Next page"))
    if query.offset > 0 and query.after is None:
        links.append(link(url(path, **keep, offset=max(0, query.offset - query.limit), f=fmt),
                          "prev", MediaType.HTML if html else MediaType.GEOJSON,
                          "Previous page"))
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": feature_collection(page, out_crs),
        "numberReturned": len(page.ids),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "links": links,
    }
    if page.number_matched is not None:
        body["numberMatched"] = page.number_matched
    # The items resource is the filterable one: its Link header points at the queryables
    # (Features Part 3 /req/queryables/get-queryables-uris), as the collection body does.
    queryables_link = link(url(f"/collections/{layer_id}/queryables"), QUERYABLES_REL,
                           SCHEMA_JSON, "Properties these features can be filtered by")
    headers = {"Content-Crs": f"<{crs.uri(out_crs)}>",
               "Link": link_header([*links, queryables_link])}
    if html:
        response = respond(body, "items.html", title=info.title, info=info, query=query)
    else:
        response = json_response(body, MediaType.GEOJSON)
    response.headers.update(headers)
    return response


@bp.get("/collections/<layer_id>/items/<feature_id>")
@accepts("f", "crs")
def item(layer_id: str, feature_id: str) -> Response:
    """One feature by id."""
    info = current().layers.layer(layer_id)
    html = wants_html()
    out_crs = params.parse_crs(request.args, "crs", offered_crs(info))
    try:
        fid = int(feature_id)
        if not 0 <= fid <= params.MAX_INT64:
            raise ValueError
    except ValueError:
        if feature_id.isascii() and feature_id.isdigit():  # a number too big for an id
            raise InvalidParameter("featureId", f"feature ids are whole numbers from 0 to "
                                   f"{params.MAX_INT64}, got {feature_id!r}") from None
        raise FeatureNotFound(layer_id, feature_id) from None
    page = current().layers.item(info, fid)
    feature = feature_collection(page, out_crs)[0]
    path = f"/collections/{layer_id}/items/{fid}"
    feature["links"] = [
        *self_links(path, MediaType.GEOJSON, "This feature"),
        link(url(f"/collections/{layer_id}", f="json"), "collection", MediaType.JSON,
             "The collection"),
    ]
    if html:
        response = respond(feature, "item.html", title=f"{info.title} {fid}", info=info)
    else:
        response = json_response(feature, MediaType.GEOJSON)
    response.headers["Content-Crs"] = f"<{crs.uri(out_crs)}>"
    response.headers["Link"] = link_header(feature["links"])
    response.headers["ETag"] = edits.etag(page)  # If-Match of a Part 4 write
    return response

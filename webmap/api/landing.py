"""Landing page, conformance, the OpenAPI document, and health checks."""

from __future__ import annotations

from flask import Blueprint, Response

from ..problems import ServiceUnavailable
from ..services import current
from ..types import LayerKind, MediaType
from .accepts import accepts
from .openapi import Collections, openapi_document
from .render import html_response, json_response, link, respond, self_links, url, wants_html

bp = Blueprint("landing", __name__)

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/ogcapi-tiles-2/1.0/conf/tilematrixset",
)


@bp.get("/")
@accepts("f")
def landing() -> Response:
    """Links to everything a client needs."""
    body = {
        "title": "webmap",
        "description": "Municipal geodata as OGC API - Features and Tiles.",
        "links": [
            *self_links("/", MediaType.JSON, "This document"),
            link(url("/api"), "service-desc", MediaType.OPENAPI, "The API definition"),
            link(url("/api.html"), "service-doc", MediaType.HTML, "The API documentation"),
            link(url("/conformance"), "conformance", MediaType.JSON, "Conformance classes"),
            link(url("/collections"), "data", MediaType.JSON, "Collections"),
            link(url("/tileMatrixSets"), "http://www.opengis.net/def/rel/ogc/1.0/"
                 "tiling-schemes", MediaType.JSON, "Tile matrix sets"),
            *(link(url(f"/collections/{info.id}/tiles"),
                   "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map", MediaType.JSON,
                   f"{info.title}: raster tilesets")
              for info in current().layers.layers() if info.kind is LayerKind.RASTER),
        ],
    }
    return respond(body, "landing.html", title="webmap", layers=current().layers.layers())


@bp.get("/conformance")
@accepts("f")
def conformance() -> Response:
    """The conformance classes that are implemented and tested."""
    body = {"conformsTo": list(CONFORMANCE)}
    return respond(body, "conformance.html", title="Conformance")


@bp.get("/api")
@accepts("f")
def api() -> Response:
    """The OpenAPI 3.0 document (JSON), or its HTML rendering for browsers."""
    if wants_html():
        return api_html()
    return json_response(openapi_document(url(""), _collections()), MediaType.OPENAPI)


def _collections() -> Collections:
    return tuple((info.id, info.fields) for info in current().layers.layers()
                 if info.kind is LayerKind.VECTOR)


@bp.get("/api.html")
@accepts("f")
def api_html() -> Response:
    """A readable list of the API's operations."""
    return html_response("api.html", title="API", doc=openapi_document(url(""), _collections()),
                         body={"links": []})


@bp.get("/healthz")
@accepts()
def healthz() -> Response:
    """The process answers."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
@accepts()
def readyz() -> Response:
    """Every part of storage answers too: the database, layers, maps, comments, tokens."""
    services = current()
    try:
        services.ping()
    except ServiceUnavailable as exc:
        raise ServiceUnavailable(f"not ready: {exc.detail}",
                                 headers={"Retry-After": "5"}) from exc
    return json_response({"status": "ready", "backend": services.backend})

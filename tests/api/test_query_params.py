"""Unknown query parameters answer 400 on every operation, and every parameter an operation
takes is declared in /api (/req/core/query-param-unknown, /rec/core/fc-filters)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import assert_problem
from webmap.api.accepts import accepted
from webmap.api.params import ITEMS_PARAMS
from webmap.services import services_of

OPERATIONS = [
    ("get", "/"), ("get", "/conformance"), ("get", "/api"), ("get", "/api.html"),
    ("get", "/healthz"), ("get", "/readyz"), ("get", "/collections"),
    ("get", "/collections/buildings"), ("get", "/collections/buildings/queryables"),
    ("get", "/collections/buildings/items/1"), ("get", "/collections/buildings/tiles"),
    ("get", "/collections/buildings/tiles/WebMercatorQuad"),
    ("get", "/collections/buildings/tiles/WebMercatorQuad/tilejson.json"),
    ("get", "/collections/buildings/tiles/WebMercatorQuad/12/2359/2330"),
    ("get", "/tileMatrixSets"), ("get", "/tileMatrixSets/WebMercatorQuad"),
    ("get", "/search?q=mann&map=x"), ("get", "/plans"), ("get", "/plans/p"),
    ("get", "/maps"), ("get", "/maps/m"), ("get", "/maps/m/comments"),
    ("post", "/maps/m/comments"), ("get", "/embed/m"), ("get", "/embed/m/map.js"),
    ("get", "/basemaps"), ("get", "/basemaps/b"), ("get", "/admin/api/layers"),
    ("get", "/admin/api/maps/m/comments"), ("delete", "/admin/api/layers/x"),
    ("get", "/maps/m/comments/abcdefghij/photos/1"),
    ("get", "/admin/api/comments/abcdefghij/photos/1"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_unknown_parameter_is_named_in_a_400(client: Any, add_layer: Any, method: str,
                                             path: str) -> None:
    add_layer("buildings")
    joiner = "&" if "?" in path else "?"
    response = getattr(client, method)(f"{path}{joiner}colour=red")
    body = assert_problem(response, 400, mentions="'colour'")
    assert body["parameter"] == "colour"


def test_unknown_parameter_on_items_names_it_and_the_properties(client: Any,
                                                                add_layer: Any) -> None:
    add_layer("buildings")
    response = client.get("/collections/buildings/items?colour=red")
    assert assert_problem(response, 400, mentions="'colour'")["parameter"] == "colour"


def test_declared_parameters_still_work(client: Any, add_layer: Any) -> None:
    add_layer("buildings")
    for path in ("/?f=json", "/conformance?f=html", "/api?f=json", "/collections?f=json",
                 "/collections/buildings?f=html", "/collections/buildings/queryables?f=json",
                 "/collections/buildings/tiles?f=json", "/tileMatrixSets?f=json"):
        assert client.get(path).status_code == 200, path
    assert_problem(client.get("/collections/buildings/tiles?f=html"), 400, mentions="json")


def _query_parameters(doc: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = doc["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == "query":
            names.add(parameter["name"])
    return names


def test_api_declares_exactly_what_each_operation_accepts(app: Any, client: Any,
                                                          add_layer: Any) -> None:
    add_layer("buildings")
    fields = {f.name for f in services_of(app).layers.layer("buildings").fields}
    assert fields
    doc = client.get("/api").get_json()
    adapter = app.url_map.bind("localhost")
    samples = {"tileMatrix": "3", "tileRow": "2", "tileCol": "1", "featureId": "1", "n": "1"}
    checked = 0
    for path, operations in doc["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "x"), path)
        for method, operation in operations.items():
            endpoint, _ = adapter.match(concrete, method=method.upper())
            names = accepted(app.view_functions[endpoint])
            assert names is not None, f"{method} {path} declares no query parameters"
            declared = _query_parameters(doc, operation)
            if endpoint == "features.items":
                assert names == ITEMS_PARAMS
                if path == "/collections/buildings/items":
                    assert declared - names == fields, "each property is a filter parameter"
                    declared -= fields
            assert declared == names, f"{method} {path}"
            checked += 1
    assert checked >= 25


def test_every_public_and_staff_api_operation_declares_its_parameters(app: Any) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("admin_pages.",
                                                                   "admin_maps.")):
            continue
        if rule.methods is not None and rule.methods <= {"OPTIONS", "HEAD"}:
            continue
        assert accepted(app.view_functions[rule.endpoint]) is not None, rule.rule

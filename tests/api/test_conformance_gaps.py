"""Extents that hold every served coordinate, Link headers, feature ids that are not numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
from openapi_spec_validator import validate

from tests.conftest import assert_problem, make_buildings


def test_extent_holds_every_served_coordinate(client: Any, add_layer: Any) -> None:
    frame = make_buildings(300, seed=17)
    add_layer("buildings", frame)
    raw = frame.total_bounds
    for body in (client.get("/collections/buildings").get_json(),
                 client.get("/collections").get_json()["collections"][0]):
        spatial = body["extent"]["spatial"]
        for bbox in (spatial["bbox"][0], spatial["storageCrsBbox"][0]):
            minx, miny, maxx, maxy = bbox
            assert minx <= raw[0] and miny <= raw[1] and maxx >= raw[2] and maxy >= raw[3]
            assert maxx - raw[2] < 1e-8 and raw[0] - minx < 1e-8, "outward by one step only"
            features = client.get("/collections/buildings/items?limit=1000").get_json()
            coords = np.concatenate([np.array(f["geometry"]["coordinates"]).reshape(-1, 2)
                                     for f in features["features"]])
            assert coords[:, 0].min() >= minx and coords[:, 0].max() <= maxx
            assert coords[:, 1].min() >= miny and coords[:, 1].max() <= maxy


def test_items_send_their_links_as_link_headers(client: Any, add_layer: Any) -> None:
    add_layer("buildings", make_buildings(30))
    response = client.get("/collections/buildings/items?limit=10")
    body = response.get_json()
    header = response.headers["Link"]
    for item in body["links"]:
        assert f'<{item["href"]}>; rel="{item["rel"]}"; type="{item["type"]}"' in header
    assert 'rel="next"' in header and 'rel="self"' in header
    one = client.get("/collections/buildings/items/1")
    assert 'rel="collection"' in one.headers["Link"]


def test_items_link_header_points_at_the_queryables(client: Any, add_layer: Any) -> None:
    """Features Part 3 /req/queryables/get-queryables-uris: the filterable resource (items)
    references its queryables, with the relation quoted as RFC 8288 wants for a URI."""
    add_layer("buildings", make_buildings(5))
    header = client.get("/collections/buildings/items").headers["Link"]
    rel = 'rel="http://www.opengis.net/def/rel/ogc/1.0/queryables"'
    found = [part for part in header.split(", <") if rel in part]
    assert len(found) == 1, header
    href = found[0].lstrip("<").split(">")[0]
    schema = client.get(href.removeprefix("http://localhost"))
    assert schema.status_code == 200 and schema.get_json()["$id"] == href


def test_feature_ids_that_are_not_numbers_are_not_found(client: Any, add_layer: Any) -> None:
    add_layer("buildings", make_buildings(5))
    assert_problem(client.get("/collections/buildings/items/abc"), 404, mentions="'abc'")
    assert_problem(client.get("/collections/buildings/items/999999"), 404)
    assert client.get("/collections/buildings/items/1").status_code == 200


def test_each_collection_declares_its_properties_in_api(client: Any, add_layer: Any) -> None:
    add_layer("buildings", make_buildings(5))
    doc = client.get("/api").get_json()
    validate(doc)
    parameters = doc["paths"]["/collections/buildings/items"]["get"]["parameters"]
    inline = {p["name"]: p for p in parameters if "name" in p}
    assert inline, "properties are declared inline"
    for field in client.get("/collections/buildings/queryables").get_json()["properties"]:
        if field != "geometry":
            assert inline[field]["in"] == "query" and not inline[field]["required"]
    refs = {p["$ref"].rsplit("/", 1)[1] for p in parameters if "$ref" in p}
    assert {"after", "limit", "bbox", "f"} <= refs


def test_rasters_are_described_by_their_tiles_not_as_features(client: Any, add_layer: Any,
                                                             add_raster: Any) -> None:
    add_layer("buildings", make_buildings(5))
    add_raster("ortho")
    listed = [c["id"] for c in client.get("/collections").get_json()["collections"]]
    assert listed == ["buildings"], "feature clients read every listed collection as features"
    body = client.get("/collections/ortho").get_json()
    assert "itemType" not in body and body["dataType"] == "map"
    rels = {item["rel"] for item in body["links"]}
    assert "items" not in rels
    assert "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map" in rels
    landing = client.get("/").get_json()["links"]
    assert any(item["rel"].endswith("/tilesets-map")
               and item["href"].endswith("/collections/ortho/tiles") for item in landing)

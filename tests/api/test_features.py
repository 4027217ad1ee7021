"""OGC API - Features Parts 1 and 2 through Flask's test client, against independent answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from openapi_spec_validator import validate
from pyproj import Transformer

from tests.conftest import assert_problem, make_buildings
from webmap.services import services_of

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture
def buildings(add_layer: Any) -> Any:
    """500 buildings near Helsinki as layer ``buildings``; returns the frame (CRS84)."""
    frame = make_buildings(500)
    add_layer("buildings", frame)
    return frame


def all_pages(client: Any, url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow ``next`` links; returns the features and each page's body."""
    features: list[dict[str, Any]] = []
    bodies = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        bodies.append(body)
        features += body["features"]
        assert body["numberReturned"] == len(body["features"])
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://localhost", "") if nxt else ""
    return features, bodies


def test_landing_links_and_conformance(client: Any, buildings: Any) -> None:
    body = client.get("/").get_json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= rels
    classes = client.get("/conformance").get_json()["conformsTo"]
    for name in ("features-1/1.0/conf/core", "features-1/1.0/conf/geojson",
                 "features-1/1.0/conf/html", "features-1/1.0/conf/oas30",
                 "features-2/1.0/conf/crs", "tiles-1/1.0/conf/mvt"):
        assert any(c.endswith(name) for c in classes), name


def test_openapi_document_validates(client: Any) -> None:
    response = client.get("/api")
    assert response.mimetype == "application/vnd.oai.openapi+json"
    validate(response.get_json())


def test_collection_offers_crs_inside_area_of_use(client: Any, buildings: Any,
                                                  add_layer: Any) -> None:
    body = client.get("/collections/buildings").get_json()
    assert body["storageCrs"] == CRS84
    assert body["crs"][0] == CRS84
    assert EPSG.format(3067) in body["crs"] and EPSG.format(3857) in body["crs"]
    assert EPSG.format(3006) not in body["crs"], "Helsinki lies east of SWEREF 99 TM's area"
    frame = make_buildings(20)
    frame.geometry = frame.geometry.translate(-6.9, -0.8)  # Helsinki → Stockholm, roughly
    add_layer("stockholm", frame, source_crs="EPSG:3006")
    body = client.get("/collections/stockholm").get_json()
    assert EPSG.format(3006) in body["crs"]
    assert EPSG.format(3067) not in body["crs"]
    links = {(link["rel"], link["type"]) for link in body["links"]}
    assert ("items", "application/geo+json") in links


def test_paging_visits_every_feature_once(client: Any, buildings: Any) -> None:
    features, bodies = all_pages(client, "/collections/buildings/items?limit=37")
    ids = [f["id"] for f in features]
    assert sorted(ids) == list(range(1, 501))
    assert len(set(ids)) == 500
    assert all(body["numberMatched"] == 500 for body in bodies)
    assert len(bodies) == 14


def test_offset_without_cursor_is_the_same_slice(client: Any, buildings: Any) -> None:
    body = client.get("/collections/buildings/items?offset=100&limit=10").get_json()
    assert [f["id"] for f in body["features"]] == list(range(101, 111))
    prev = [link for link in body["links"] if link["rel"] == "prev"]
    assert prev and "offset=90" in prev[0]["href"]


def test_bbox_matches_shapely(client: Any, buildings: Any) -> None:
    minx, miny, maxx, maxy = buildings.total_bounds
    box = (minx + (maxx - minx) * 0.3, miny + (maxy - miny) * 0.4,
           minx + (maxx - minx) * 0.55, miny + (maxy - miny) * 0.6)
    expected = {i + 1 for i in np.flatnonzero(
        shapely.intersects(buildings.geometry.values, shapely.box(*box)))}
    bbox = ",".join(repr(float(v)) for v in box)
    features, bodies = all_pages(client, f"/collections/buildings/items?bbox={bbox}&limit=7")
    assert {f["id"] for f in features} == expected
    assert len(features) == len(expected)
    assert bodies[0]["numberMatched"] == len(expected)


def test_bbox_in_another_crs(client: Any, buildings: Any) -> None:
    local = buildings.to_crs("EPSG:3067")
    box = (385_500.0, 6_672_500.0, 386_000.0, 6_673_000.0)
    expected = {i + 1 for i in np.flatnonzero(
        shapely.intersects(local.geometry.values, shapely.box(*box)))}
    assert expected, "the fixture should put buildings in this box"
    url = (f"/collections/buildings/items?limit=1000&bbox={','.join(map(str, box))}"
           f"&bbox-crs={EPSG.format(3067)}")
    assert {f["id"] for f in client.get(url).get_json()["features"]} == expected
    # EPSG:4326 is latitude first
    lon_lat = buildings.geometry.values
    b84 = (24.95, 60.16, 24.97, 60.17)
    expected = {i + 1 for i in np.flatnonzero(shapely.intersects(lon_lat, shapely.box(*b84)))}
    url = (f"/collections/buildings/items?limit=1000&bbox=60.16,24.95,60.17,24.97"
           f"&bbox-crs={EPSG.format(4326)}")
    assert {f["id"] for f in client.get(url).get_json()["features"]} == expected


def test_a_bbox_of_no_width_is_a_line_or_point_not_an_error(client: Any,
                                                             buildings: Any) -> None:
    """bbox=x,y,x,y in a projected CRS (found by the fuzz test as a 500)."""
    local = buildings.to_crs("EPSG:3067")
    x, y = shapely.get_coordinates(local.geometry.values[0].centroid)[0]
    url = (f"/collections/buildings/items?bbox={x},{y - 1000},{x},{y + 1000}"
           f"&bbox-crs={EPSG.format(3067)}&limit=1000")
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert 1 in {f["id"] for f in response.get_json()["features"]}
    zero = client.get(f"/collections/buildings/items?bbox=0,0,0,0&bbox-crs={EPSG.format(3857)}")
    assert zero.status_code == 200 and zero.get_json()["features"] == []


@pytest.mark.parametrize(("epsg", "northing_first"), [(3067, False), (3857, False),
                                                      (4326, True)])
def test_output_crs_matches_pyproj(client: Any, buildings: Any, epsg: int,
                                   northing_first: bool) -> None:
    plain = client.get("/collections/buildings/items?limit=50").get_json()
    response = client.get(f"/collections/buildings/items?limit=50&crs={EPSG.format(epsg)}")
    assert response.headers["Content-Crs"] == f"<{EPSG.format(epsg)}>"
    assert plain["features"] and len(plain["features"]) == len(response.get_json()["features"])
    transformer = Transformer.from_crs("OGC:CRS84", f"EPSG:{epsg}", always_xy=True)
    for a, b in zip(plain["features"], response.get_json()["features"], strict=True):
        assert a["id"] == b["id"]
        lon_lat = np.array(a["geometry"]["coordinates"][0])
        got = np.array(b["geometry"]["coordinates"][0])
        x, y = transformer.transform(lon_lat[:, 0], lon_lat[:, 1])
        expected = np.column_stack((y, x) if northing_first else (x, y))
        tolerance = 1e-7 if epsg == 4326 else 0.01
        assert np.abs(got - expected).max() < tolerance


def test_item_and_properties(client: Any, buildings: Any) -> None:
    feature = client.get("/collections/buildings/items/42").get_json()
    assert feature["type"] == "Feature" and feature["id"] == 42
    row = buildings.iloc[41]
    assert feature["properties"]["name"] == row["name"]
    assert feature["properties"]["floors"] == int(row["floors"])
    assert feature["properties"]["listed"] is bool(row["listed"])
    assert shapely.geometry.shape(feature["geometry"]).equals_exact(row.geometry, 1e-8)
    assert {link["rel"] for link in feature["links"]} >= {"self", "alternate", "collection"}
    assert client.get("/collections/buildings/items/8").get_json()["properties"]["note"] is None


def test_property_filter(client: Any, buildings: Any) -> None:
    expected = {i + 1 for i in np.flatnonzero(buildings["floors"].to_numpy() == 3)}
    features, bodies = all_pages(client, "/collections/buildings/items?floors=3&limit=20")
    assert {f["id"] for f in features} == expected
    assert bodies[0]["numberMatched"] == len(expected)
    name = buildings["name"].iloc[10]
    body = client.get(f"/collections/buildings/items?name={name}").get_json()
    assert [f["id"] for f in body["features"]] == [11]


def test_html_for_browsers_json_otherwise(client: Any, buildings: Any) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    page = client.get("/collections/buildings/items?limit=5", headers=browser)
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert '<html lang="en">' in text and buildings["name"].iloc[0] in text
    assert client.get("/collections/buildings/items?limit=5&f=json",
                      headers=browser).mimetype == "application/geo+json"
    assert client.get("/collections/buildings/items").mimetype == "application/geo+json"
    assert client.get("/collections", headers=browser).mimetype == "text/html"


def test_user_strings_are_escaped_in_html(client: Any, add_layer: Any) -> None:
    frame = make_buildings(3)
    frame["name"] = ["<script>alert(1)</script>", "a & b", "ok"]
    add_layer("xss", frame, title="<b>bold</b>")
    text = client.get("/collections/xss/items?f=html").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>bold</b>" not in client.get("/collections/xss?f=html").get_data(as_text=True)


@pytest.mark.parametrize(("query", "parameter"), [
    ("bbox=1,2,3", "bbox"),
    ("bbox=a,b,c,d", "bbox"),
    ("bbox=1,2,nan,4", "bbox"),
    ("bbox=10,60,9,61&bbox-crs=" + EPSG.format(3067), "bbox"),
    ("bbox=0,95,1,96", "bbox"),
    ("limit=-1", "limit"),
    ("limit=0", "limit"),
    ("limit=ten", "limit"),
    ("offset=-5", "offset"),
    ("crs=EPSG:99999999", "crs"),
    ("crs=" + EPSG.format(3006), "crs"),
    ("crs=urn:nonsense", "crs"),
    ("bbox-crs=" + EPSG.format(2000), "bbox-crs"),
    ("floors=three", "floors"),
    ("listed=maybe", "listed"),
    ("colour=red", "colour"),
    ("f=xml", "f"),
])
def test_bad_parameters_are_400_problems(client: Any, buildings: Any, query: str,
                                         parameter: str) -> None:
    body = assert_problem(client.get(f"/collections/buildings/items?{query}"), 400)
    assert body["parameter"] == parameter


def test_limit_is_capped(client: Any, buildings: Any) -> None:
    body = client.get("/collections/buildings/items?limit=999999").get_json()
    assert body["numberReturned"] == 500


def test_not_found_problems(client: Any, buildings: Any) -> None:
    assert_problem(client.get("/collections/nope"), 404, mentions="nope")
    assert_problem(client.get("/collections/nope/items"), 404)
    assert_problem(client.get("/collections/buildings/items/999999"), 404)
    assert_problem(client.get("/collections/buildings/items/abc"), 404)
    assert_problem(client.get("/no/such/path"), 404)
    assert_problem(client.post("/collections"), 405)


def test_unexpected_error_hides_internals(app: Any, client: Any, buildings: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store = services_of(app).layers

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret path /srv/data/x.gpkg and SQL SELECT *")

    monkeypatch.setattr(store, "items", broken)
    body = assert_problem(client.get("/collections/buildings/items"), 500)
    assert "secret" not in body["detail"] and body["request_id"] in body["detail"]


def test_gzip_when_accepted(client: Any, buildings: Any) -> None:
    response = client.get("/collections/buildings/items?limit=100",
                          headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    import gzip
    import json
    assert json.loads(gzip.decompress(response.data))["numberReturned"] == 100


def test_health_and_ready(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["status"] == "ready"


def test_a_layers_own_crs_is_always_offered(client: Any, add_layer: Any) -> None:
    """Turku's data are in GK23 (EPSG:3877), outside the narrow strip EPSG records for it."""
    turku = make_buildings(5, x0=238_000.0, y0=6_711_000.0).to_crs("EPSG:3067").to_crs(
        "OGC:CRS84")
    lon = float(turku.geometry.iloc[0].centroid.x)
    assert 22.0 < lon < 22.5, "Turku lies west of GK23's own strip (22.5-23.5 E)"
    add_layer("turku", turku, source_crs="EPSG:3877")
    collection = client.get("/collections/turku").get_json()
    assert "http://www.opengis.net/def/crs/EPSG/0/3877" in collection["crs"]
    response = client.get("/collections/turku/items?limit=1&crs="
                          "http://www.opengis.net/def/crs/EPSG/0/3877")
    assert response.status_code == 200, response.get_json()
    assert response.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3877>"
    x, y = response.get_json()["features"][0]["geometry"]["coordinates"][0][0]
    # GK23: northing first; the false easting puts Turku near 23 4xx xxx
    assert 6_700_000 < x < 6_730_000 and 23_400_000 < y < 23_500_000

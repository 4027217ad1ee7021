"""OGC API - Features Part 4: what QGIS does to edit a layer (OPTIONS, POST with Content-Crs,
GET back, PATCH, PUT with a stale ETag → 412, DELETE), on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import assert_problem, make_buildings
from webmap.services import services_of

TM35 = "http://www.opengis.net/def/crs/EPSG/0/3067"


@pytest.fixture
def staff(app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {services_of(app).tokens.create('gis-staff')}"}


def square(x: float, y: float, size: float = 10.0) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
                                                [x, y + size], [x, y]]]}


def test_qgis_edit_cycle(client: Any, add_layer: Any, staff: dict[str, str]) -> None:
    add_layer("buildings", make_buildings(30), editable=True)
    base = "/collections/buildings/items"
    allowed = client.options(base).headers["Allow"]
    assert {"GET", "POST"} <= {m.strip() for m in allowed.split(",")}
    allowed = client.options(f"{base}/1").headers["Allow"]
    assert {"GET", "PUT", "PATCH", "DELETE"} <= {m.strip() for m in allowed.split(",")}
    version = client.get("/collections/buildings/tiles/WebMercatorQuad").headers.get("ETag")

    feature = {"type": "Feature", "geometry": square(386_000.0, 6_673_000.0),
               "properties": {"name": "Uusi talo", "floors": 2}}
    created = client.post(base, json=feature, headers={**staff, "Content-Crs": f"<{TM35}>"})
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    fid = int(location.rsplit("/", 1)[1])
    assert fid == 31
    got = client.get(f"{base}/{fid}?crs={TM35}")
    body = got.get_json()
    assert body["properties"]["name"] == "Uusi talo" and body["properties"]["floors"] == 2
    xs = [p[0] for p in body["geometry"]["coordinates"][0]]
    assert min(xs) == pytest.approx(386_000.0, abs=0.01)
    assert got.headers["ETag"] == created.headers["ETag"]
    assert client.get(base, query_string={"limit": 100}).get_json()["numberMatched"] == 31
    if version is not None:
        assert client.get("/collections/buildings/tiles/WebMercatorQuad").headers.get(
            "ETag") != version

    stale = got.headers["ETag"]
    patched = client.patch(f"{base}/{fid}", json={"properties": {"floors": 5}},
                           headers={**staff, "If-Match": stale,
                                    "Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 204, patched.get_data(as_text=True)
    after = client.get(f"{base}/{fid}")
    assert after.get_json()["properties"]["floors"] == 5
    assert after.get_json()["properties"]["name"] == "Uusi talo"
    assert after.headers["ETag"] != stale

    replaced = client.put(f"{base}/{fid}", json=feature, headers={**staff, "If-Match": stale})
    assert_problem(replaced, 412)
    assert client.get(f"{base}/{fid}").get_json()["properties"]["floors"] == 5

    fresh = after.headers["ETag"]
    other = client.get(f"{base}/3").get_json()
    replaced = client.put(f"{base}/{fid}", headers={**staff, "If-Match": fresh},
                          json={"type": "Feature", "geometry": square(24.95, 60.18, 0.0001),
                                "properties": {"name": "Korvattu"}})
    assert replaced.status_code == 204, replaced.get_data(as_text=True)
    props = client.get(f"{base}/{fid}").get_json()["properties"]
    assert props["name"] == "Korvattu" and props["floors"] is None
    assert client.get(f"{base}/3").get_json() == other, "other features keep id and content"

    assert client.delete(f"{base}/{fid}", headers=staff).status_code == 204
    assert_problem(client.get(f"{base}/{fid}"), 404)
    assert client.get(base, query_string={"limit": 100}).get_json()["numberMatched"] == 30


def test_edits_need_staff_and_valid_input(client: Any, add_layer: Any,
                                          staff: dict[str, str]) -> None:
    add_layer("buildings", make_buildings(10), editable=True)
    base = "/collections/buildings/items"
    feature = {"type": "Feature", "geometry": square(24.95, 60.18, 0.0001),
               "properties": {"name": "x"}}
    assert_problem(client.post(base, json=feature), 401)
    assert_problem(client.delete(f"{base}/1"), 401)
    assert_problem(client.post(base, json=feature,
                               headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(client.post(base, json={**feature, "properties": {"bogus": 1}},
                               headers=staff), 400)
    assert_problem(client.post(base, json={"type": "Feature", "geometry": {"type": "Nope"}},
                               headers=staff), 400)
    assert_problem(client.post(base, data=b"{not json", headers=staff), 400)
    assert_problem(client.post(base, json=feature, headers={**staff, "Content-Crs": "<x>"}),
                   400)
    assert_problem(client.delete(f"{base}/999", headers=staff), 404)
    assert_problem(client.delete(f"{base}/abc", headers=staff), 404)
    assert_problem(client.post("/collections/nope/items", json=feature, headers=staff), 404)
    assert_problem(client.post(f"{base}?x=1", json=feature, headers=staff), 400)
    assert client.get(base).get_json()["numberMatched"] == 10, "nothing changed"


def test_writes_announced(client: Any) -> None:
    conformance = client.get("/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" \
        in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update" in conformance
    paths = client.get("/api").get_json(force=True)["paths"]
    assert paths["/collections/{collectionId}/items"]["post"]["operationId"] == "createFeature"
    one = paths["/collections/{collectionId}/items/{featureId}"]
    assert {"put", "patch", "delete"} <= set(one)
    assert one["put"]["security"] == [{"staffToken": []}]


def test_geometry_checked_and_repaired_as_at_import(client: Any, add_layer: Any,
                                                    staff: dict[str, str]) -> None:
    add_layer("buildings", make_buildings(10), editable=True)
    base = "/collections/buildings/items"
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.95, 60.18]},
             "properties": {}}
    wrong = client.post(base, json=point, headers=staff)
    assert 400 <= wrong.status_code < 500 and wrong.mimetype == "application/problem+json"
    bowtie = {"type": "Feature", "properties": {"name": "rusetti"}, "geometry": {
        "type": "Polygon", "coordinates": [[[24.95, 60.18], [24.951, 60.181], [24.951, 60.18],
                                            [24.95, 60.181], [24.95, 60.18]]]}}
    created = client.post(base, json=bowtie, headers=staff)
    assert created.status_code == 201, created.get_data(as_text=True)
    geometry = client.get(created.headers["Location"]).get_json()["geometry"]
    import shapely

    assert shapely.from_geojson(str(geometry).replace("'", '"')).is_valid
    assert_problem(client.patch(f"{base}/1", json={"properties": {"floors": "many"}},
                                headers=staff), 400)
    assert client.get(base).get_json()["numberMatched"] == 11


def test_only_layers_made_editable_take_writes(client: Any, add_layer: Any,
                                               staff: dict[str, str]) -> None:
    """A layer is read-only unless staff chose --editable: OPTIONS names only the read
    methods (QGIS then offers no editing) and a write with a valid token is 405."""
    add_layer("buildings", make_buildings(5))
    base = "/collections/buildings/items"
    for path in (base, f"{base}/1"):
        allowed = {m.strip() for m in client.options(path).headers["Allow"].split(",")}
        assert "GET" in allowed and not allowed & {"POST", "PUT", "PATCH", "DELETE"}, path
    feature = {"type": "Feature", "geometry": square(24.95, 60.18, 0.0001), "properties": {}}
    refused = client.post(base, json=feature, headers=staff)
    assert_problem(refused, 405)
    assert "--editable" in refused.get_json()["detail"]
    assert refused.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert_problem(client.delete(f"{base}/1", headers=staff), 405)
    assert_problem(client.post(base, json=feature), 401), "the token is asked for first"
    assert client.get(base).get_json()["numberMatched"] == 5


def test_editable_is_chosen_at_import_and_kept_on_replacement(
        app: Any, client: Any, staff: dict[str, str], tmp_path: Any) -> None:
    from webmap.layers import import_file

    store = services_of(app).layers
    path = tmp_path / "talot.gpkg"
    make_buildings(5).set_crs("EPSG:4326", allow_override=True).to_file(path, driver="GPKG")
    assert import_file(store, path, "talot", editable=True).editable
    assert store.layer("talot").editable
    assert import_file(store, path, "talot").editable, "a replacement keeps the choice"
    feature = {"type": "Feature", "geometry": square(24.95, 60.18, 0.0001), "properties": {}}
    created = client.post("/collections/talot/items", json=feature, headers=staff)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert store.layer("talot").editable, "an edit keeps it editable"
    assert not import_file(store, path, "talot", editable=False).editable
    assert_problem(client.post("/collections/talot/items", json=feature, headers=staff), 405)

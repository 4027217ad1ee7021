"""Security of the staff side beyond tests/admin/test_api.py: every route of the app is
enumerated, so a new one cannot escape; sessions and CSRF on the pages; hostile uploads through
the upload page; concurrent uploads on a real server; generated GeoJSON through the API."""

from __future__ import annotations

import io
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.admin.test_api import (
    _bomb,
    _empty,
    _html_as_geojson,
    _huge_geojson,
    _nan_geojson,
    _shapefile_without_prj,
    _traversal,
    _truncated_gpkg,
)
from tests.admin.test_pages import sign_in
from tests.builders import make_symlink_zip, make_vector
from tests.conftest import LiveServer, assert_problem, open_app
from webmap.services import services_of

PLACEHOLDER = re.compile(r"<(?:([^:>]+):)?([^>]+)>")


def _value(match: re.Match[str]) -> str:
    if match.group(1) == "int":
        return "1"
    return "x1" if match.group(2) != "filename" else "staff.css"


def _path(rule: Any) -> str:
    """A concrete path for a rule: every variable filled with a harmless value."""
    return PLACEHOLDER.sub(_value, rule.rule)


def rules_under(app: Any, prefix: str) -> list[Any]:
    """Every URL rule of the app under ``prefix``."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(prefix)]


@pytest.fixture
def token(app: Any) -> str:
    """An active staff token."""
    return str(services_of(app).tokens.create("anna"))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(path: Path, **form: str) -> dict[str, Any]:
    return {"file": (io.BytesIO(path.read_bytes()), path.name), **form}


# ---------- the staff API: every rule, every method, every kind of bad credential ----------

def test_every_api_rule_and_method_refuses_without_a_valid_token(app: Any, client: Any,
                                                                 token: str) -> None:
    records = services_of(app).tokens
    revoked = records.create("former")
    records.revoke("former")
    rules = rules_under(app, "/admin/api/")
    assert {rule.endpoint.split(".")[0] for rule in rules} >= {"admin_api", "comments_staff"}
    sign_in(client, token)  # a signed-in browser session must not open the API
    for rule in rules:
        for method in sorted(rule.methods):  # HEAD and OPTIONS too
            for headers in ({}, {"Authorization": "Bearer wrong"}, auth(revoked),
                            {"Authorization": f"Basic {token}"}, {"Authorization": "Bearer"}):
                response = client.open(_path(rule), method=method, headers=headers)
                if method == "HEAD":
                    assert response.status_code == 401, (rule.rule, headers)
                    continue
                assert_problem(response, 401)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")


# ---------- the staff pages: a session for everything, CSRF on every post ----------

def _page_rules(app: Any) -> list[Any]:
    return [rule for rule in rules_under(app, "/admin/")
            if not rule.rule.startswith("/admin/api/")
            and rule.endpoint not in {"admin_pages.sign_in", "admin_pages.static"}]


def test_every_page_needs_a_session(app: Any, client: Any) -> None:
    rules = _page_rules(app)
    assert len(rules) >= 12
    for rule in rules:
        for method in sorted(rule.methods - {"OPTIONS"}):
            response = client.open(_path(rule), method=method)
            if method in ("GET", "HEAD"):
                assert response.status_code == 303, rule.rule
                assert response.headers["Location"].startswith("/admin/?next=")
            else:
                assert response.status_code == 401, (method, rule.rule)
                assert "Not signed in" in response.text


def test_every_post_needs_the_session_csrf_token(app: Any, client: Any, token: str,
                                                 add_layer: Any) -> None:
    add_layer("plan")
    csrf = sign_in(client, token)
    other = app.test_client()
    foreign = sign_in(other, services_of(app).tokens.create("bert"))
    assert foreign != csrf
    posts = [rule for rule in _page_rules(app) if "POST" in rule.methods]
    assert len(posts) >= 6
    for rule in posts:
        path = _path(rule).replace("/layers/x1/", "/layers/plan/")
        for form in ({}, {"csrf_token": "forged"}, {"csrf_token": foreign}):
            response = client.post(path, data=form)
            assert response.status_code == 400, (rule.rule, form)
            assert "nothing was done" in response.text
        cross = client.post(path, data={"csrf_token": csrf},
                            headers={"Origin": "https://evil.example"})
        assert cross.status_code == 400, rule.rule
    assert client.get("/collections/plan").status_code == 200  # the removal never ran
    assert client.get("/admin/layers").status_code == 200  # and the sign-out never ran


def test_sign_in_form_needs_csrf_too(client: Any, token: str) -> None:
    response = client.post("/admin/", data={"token": token})
    assert response.status_code == 400
    assert client.get("/admin/layers").status_code == 303


# ---------- hostile files through the upload page ----------

def _symlink(folder: Path) -> Path:
    return make_symlink_zip(folder / "link.zip")


HOSTILE = [_html_as_geojson, _nan_geojson, _huge_geojson, _empty, _traversal, _bomb,
           _truncated_gpkg, _shapefile_without_prj, _symlink]


def _layer_files(app: Any, layer_id: str) -> list[str]:
    folder = Path(services_of(app).settings.data_dir) / "layers" / layer_id
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("make_bad", HOSTILE, ids=lambda f: f.__name__.strip("_"))
def test_hostile_files_through_the_upload_page(app: Any, client: Any, token: str,
                                               tmp_path: Path, make_bad: Any) -> None:
    csrf = sign_in(client, token)
    good = make_vector(tmp_path / "tiet.geojson", fmt="geojson", n=12, invalid=0)
    assert client.post("/admin/layers/new", data=upload(good, csrf_token=csrf, id="tiet")
                       ).status_code == 303
    before = client.get("/collections/tiet/items?limit=100").get_json()["features"]
    files = _layer_files(app, "tiet")
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    response = client.post("/admin/layers/new", data=upload(
        make_bad(bad_dir), csrf_token=csrf, id="tiet", replace="yes"))
    assert response.status_code == 422
    assert "There is a problem" in response.text and "Traceback" not in response.text
    assert str(tmp_path) not in response.text
    assert client.get("/collections/tiet/items?limit=100").get_json()["features"] == before
    assert _layer_files(app, "tiet") == files
    assert not (tmp_path.parent / "escape.geojson").exists()
    assert client.get("/healthz").status_code == 200


def test_symlink_member_through_the_api(client: Any, token: str, tmp_path: Path) -> None:
    response = client.post("/admin/api/layers", headers=auth(token),
                           data=upload(_symlink(tmp_path), id="link"))
    assert_problem(response, 422, mentions="symbolic link")
    assert client.get("/collections/link").status_code == 404


def test_upload_page_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    from webmap.settings import Settings

    app = open_app(Settings(data_dir=tmp_path / "data", max_upload_mb=1))
    client = app.test_client()
    sign_in(client, services_of(app).tokens.create("anna"))
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (2 * 1024 * 1024))
    response = client.post("/admin/layers/new", data=upload(big, id="big"))
    assert response.status_code == 413 and "limit of 1 MiB" in response.text


# ---------- two uploads of one id at once, on a real server ----------

def test_two_uploads_of_one_id_at_once(app: Any, settings: Any, token: str,
                                       tmp_path: Path) -> None:
    data = make_vector(tmp_path / "iso.geojson", fmt="geojson", n=4000, invalid=0).read_bytes()
    server = LiveServer(settings.data_dir, layers_dir=settings.layers_dir,
                        database_url=settings.database_url, workers=2)
    start = threading.Barrier(2)
    answers: list[int] = []

    def post() -> None:
        start.wait()
        response = requests.post(f"{server.url}/admin/api/layers", headers=auth(token),
                                 files={"file": ("iso.geojson", data)}, data={"id": "iso"},
                                 timeout=120)
        if response.status_code >= 400:
            assert response.headers["Content-Type"] == "application/problem+json"
        answers.append(response.status_code)

    try:
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [201, 409]
        collection = requests.get(f"{server.url}/collections/iso/items?limit=1", timeout=10)
        assert collection.json()["numberMatched"] == 4000
    finally:
        server.stop()


# ---------- generated GeoJSON through the API ----------

coordinate = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-200, 200),
                       st.integers(-10**7, 10**7))
lonlat = st.tuples(st.floats(-179, 179), st.floats(-89, 89)).map(list)
position = st.one_of(lonlat, lonlat, st.lists(coordinate, min_size=0, max_size=3))
geometry = st.one_of(
    st.none(),
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": position}),
    st.fixed_dictionaries({"type": st.just("LineString"),
                           "coordinates": st.lists(position, max_size=4)}),
    st.fixed_dictionaries({"type": st.just("Polygon"),
                           "coordinates": st.lists(st.lists(position, max_size=5), max_size=2)}),
    st.fixed_dictionaries({"type": st.sampled_from(["MultiPoint", "Nonsense", ""]),
                           "coordinates": st.lists(position, max_size=3)}),
)
properties = st.dictionaries(st.text(max_size=10),
                             st.one_of(st.none(), st.text(max_size=12), st.integers(),
                                       st.floats(allow_nan=False), st.booleans()), max_size=3)
feature = st.fixed_dictionaries({"type": st.just("Feature"), "geometry": geometry,
                                 "properties": properties})
document = st.one_of(
    st.builds(lambda fs: {"type": "FeatureCollection", "features": fs},
              st.lists(feature, max_size=5)),
    feature, st.just({"type": "FeatureCollection"}), st.just([]), st.text(max_size=30))


VALID = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"nimi": "Åbo"},
     "geometry": {"type": "LineString", "coordinates": [[22.2, 60.4], [22.3, 60.5]]}}]}


@given(body=document)
@example(body=VALID)  # the success path is always among the examples
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_generated_geojson_never_breaks_the_import(app: Any, client: Any, token: str,
                                                   body: Any) -> None:
    store = services_of(app).layers
    if client.get("/collections/seed").status_code == 404:
        seed = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}}]}
        client.put("/admin/api/layers/seed", headers=auth(token), data={"file": (
            io.BytesIO(json.dumps(seed).encode()), "seed.geojson")})
    before = store.layer("seed")
    raw = json.dumps(body, allow_nan=True).encode() if not isinstance(body, str) else \
        body.encode()
    response = client.put("/admin/api/layers/seed", headers=auth(token),
                          data={"file": (io.BytesIO(raw), "random.geojson")})
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    after = store.layer("seed")
    event(f"answered {response.status_code}")
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
        assert after == before  # the old version still serves, untouched
        return
    report = response.get_json()["report"]
    page = client.get("/collections/seed/items?limit=1000").get_json()
    assert page["numberMatched"] == report["feature_count"] == after.feature_count > 0
    assert after.version != before.version


def test_a_polygon_with_an_empty_ring_is_repaired_on_both_backends(client: Any,
                                                                   token: str) -> None:
    # Found by the property test above on PostGIS: GEOS calls POLYGON((…), EMPTY) valid,
    # PostGIS refuses a ring with fewer than four points.
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nimi": "Hämeenkatu"}, "geometry": {
            "type": "Polygon", "coordinates": [[[24.9, 60.1], [25.0, 60.1], [25.0, 60.2],
                                                [24.9, 60.1]], []]}},
        {"type": "Feature", "properties": {"nimi": "Åkerlund"}, "geometry": {
            "type": "MultiPolygon", "coordinates": [[[[24.0, 60.0], [24.1, 60.0],
                                                      [24.1, 60.1], [24.0, 60.0]], []]]}}]}
    response = client.put("/admin/api/layers/rings", headers=auth(token), data={
        "file": (io.BytesIO(json.dumps(body).encode()), "rings.geojson")})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.get_json()["report"]["repaired"] == 2
    items = client.get("/collections/rings/items").get_json()
    names = sorted(f["properties"]["nimi"] for f in items["features"])
    assert names == ["Hämeenkatu", "Åkerlund"]
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in items["features"])

"""The staff API: tokens, uploads, atomic replacement, removal, hostile files."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.builders import make_vector, make_zip, make_zip_bomb
from tests.conftest import assert_problem, open_app
from webmap.services import services_of


@pytest.fixture
def token(app: Any) -> str:
    """An active staff token."""
    return str(services_of(app).tokens.create("gis-staff"))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(path: Path, **form: str) -> dict[str, Any]:
    return {"file": (io.BytesIO(path.read_bytes()), path.name), **form}


@pytest.fixture
def roads(tmp_path: Path) -> Path:
    """A GeoJSON file of 40 polygons in EPSG:3067 with Finnish text."""
    return make_vector(tmp_path / "tiet.geojson", fmt="geojson", n=40, invalid=2)


def admin_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) under /admin/api, from the app itself."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/api"):
            path = re.sub(r"<int:\w+>", "1", rule.rule.replace("<layer_id>", "x"))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, path))
    return routes


def test_every_admin_route_needs_a_valid_token(app: Any, client: Any) -> None:
    records = services_of(app).tokens
    revoked = records.create("former")
    records.revoke("former")
    routes = admin_routes(app)
    assert {m for m, _ in routes} >= {"GET", "POST", "PUT", "DELETE"}
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer nope"}, auth(revoked),
                        {"Authorization": "Basic Z2lzOnN0YWZm"}):
            response = client.open(path, method=method, headers=headers)
            assert_problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_tokens_are_stored_only_as_hashes(app: Any, token: str) -> None:
    settings = services_of(app).settings
    if settings.database_url:  # PostgreSQL: the table's rows
        import psycopg

        with psycopg.connect(settings.database_url) as conn:
            data = repr(conn.execute("SELECT * FROM webmap_tokens").fetchall()).encode()
        assert hashlib.sha256(token.encode()).hexdigest().encode() in data
    else:
        data = b"".join(p.read_bytes() for p in Path(settings.data_dir).glob("webmap.sqlite*"))
    assert token.encode() not in data
    assert services_of(app).tokens.verify(token) == "gis-staff"


def test_upload_replace_delete(client: Any, token: str, roads: Path, tmp_path: Path) -> None:
    created = client.post("/admin/api/layers", headers=auth(token),
                          data=upload(roads, id="tiet", title="Tiet – vägar"))
    assert created.status_code == 201, created.get_data(as_text=True)
    report = created.get_json()["report"]
    assert report["layer_id"] == "tiet" and report["feature_count"] == 40
    assert report["source_crs"] == "EPSG:3067" and report["repaired"] == 2
    assert client.get("/collections/tiet").get_json()["title"] == "Tiet – vägar"
    again = client.post("/admin/api/layers", headers=auth(token),
                        data=upload(roads, id="tiet"))
    assert_problem(again, 409, mentions="PUT")
    smaller = make_vector(tmp_path / "pienempi.geojson", fmt="geojson", n=7, invalid=0)
    replaced = client.put("/admin/api/layers/tiet", headers=auth(token), data=upload(smaller))
    assert replaced.status_code == 200
    assert client.get("/collections/tiet/items").get_json()["numberMatched"] == 7
    listed = client.get("/admin/api/layers", headers=auth(token)).get_json()["layers"]
    assert [layer["id"] for layer in listed] == ["tiet"]
    deleted = client.delete("/admin/api/layers/tiet", headers=auth(token))
    assert deleted.status_code == 204 and not deleted.data
    assert_problem(client.get("/collections/tiet"), 404)
    assert_problem(client.delete("/admin/api/layers/tiet", headers=auth(token)), 404)


def _html_as_geojson(folder: Path) -> Path:
    path = folder / "kaava.geojson"
    path.write_text("<!doctype html><html><body><script>alert(1)</script></body></html>")
    return path


def _nan_geojson(folder: Path) -> Path:
    path = folder / "nan.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                    '"geometry":{"type":"LineString","coordinates":[[25,60],[NaN,61]]}}]}')
    return path


def _huge_geojson(folder: Path) -> Path:
    path = folder / "huge.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                    '"geometry":{"type":"LineString","coordinates":[[25,60],[1e300,61]]}}]}')
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty.geojson"
    path.write_text('{"type":"FeatureCollection","features":[]}')
    return path


def _traversal(folder: Path) -> Path:
    return make_zip(folder / "evil.zip", {"../../escape.geojson": b'{"type":"Feature"}'})


def _bomb(folder: Path) -> Path:
    return make_zip_bomb(folder / "bomb.zip", megabytes=200)


def _truncated_gpkg(folder: Path) -> Path:
    whole = make_vector(folder / "whole.gpkg", fmt="gpkg", n=50)
    path = folder / "truncated.gpkg"
    path.write_bytes(whole.read_bytes()[:20_000])
    return path


def _shapefile_without_prj(folder: Path) -> Path:
    shp = make_vector(folder / "lakes.shp", fmt="shp", n=10)
    shp.with_suffix(".prj").unlink()
    return make_zip(folder / "lakes.zip", {p.name: p for p in folder.glob("lakes.*")
                                            if p.suffix != ".zip"})


@pytest.mark.parametrize("make_bad", [_html_as_geojson, _nan_geojson, _huge_geojson, _empty,
                                      _traversal, _bomb, _truncated_gpkg,
                                      _shapefile_without_prj])
def test_hostile_files_are_refused_and_the_old_layer_serves(
        client: Any, token: str, roads: Path, tmp_path: Path, make_bad: Any) -> None:
    assert client.post("/admin/api/layers", headers=auth(token),
                       data=upload(roads, id="tiet")).status_code == 201
    before = client.get("/collections/tiet/items?limit=100").get_json()
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    response = client.put("/admin/api/layers/tiet", headers=auth(token),
                          data=upload(make_bad(bad_dir)))
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    after = client.get("/collections/tiet/items?limit=100").get_json()
    assert after["features"] == before["features"]
    assert not (tmp_path.parent / "escape.geojson").exists()
    assert client.get("/healthz").status_code == 200


def test_upload_over_the_limit_is_413(tmp_path: Path) -> None:
    from webmap.settings import Settings

    app = open_app(Settings(data_dir=tmp_path / "data", max_upload_mb=1))
    client = app.test_client()
    secret = services_of(app).tokens.create("staff")
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (2 * 1024 * 1024))
    response = client.post("/admin/api/layers", headers=auth(secret),
                           data=upload(big, id="big"))
    assert_problem(response, 413)


def test_missing_fields_are_named(client: Any, token: str, roads: Path) -> None:
    body = assert_problem(client.post("/admin/api/layers", headers=auth(token),
                                      data={"id": "x"}), 400)
    assert body["parameter"] == "file"
    body = assert_problem(client.post("/admin/api/layers", headers=auth(token),
                                      data=upload(roads)), 400)
    assert body["parameter"] == "id"
    assert_problem(client.post("/admin/api/layers", headers=auth(token),
                               data=upload(roads, id="Bad Id!")), 400)


def test_a_running_import_of_the_same_id_gives_409(app: Any, client: Any, token: str,
                                                   roads: Path) -> None:
    store = services_of(app).layers
    with store._import_lock("tiet"):  # another request is importing this id
        response = client.put("/admin/api/layers/tiet", headers=auth(token),
                              data=upload(roads))
    assert_problem(response, 409)
    assert client.put("/admin/api/layers/tiet", headers=auth(token),
                      data=upload(roads)).status_code == 201


def test_security_headers(client: Any, tmp_path: Path) -> None:
    page = client.get("/?f=html")
    policy = page.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in page.headers
    api = client.get("/collections")
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_and_links_behind_an_https_proxy(tmp_path: Path) -> None:
    from webmap.settings import Settings

    app = open_app(Settings(data_dir=tmp_path / "data", proxy_hops=1))
    response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https",
                                                   "X-Forwarded-Host": "kartta.example.fi"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    hrefs = [link["href"] for link in response.get_json()["links"]]
    assert all(h.startswith("https://kartta.example.fi/") for h in hrefs)


@pytest.mark.parametrize("layer_id", ["..", "...", "nope", "a.b"])
def test_deleting_an_unknown_id_touches_no_file(app: Any, client: Any, token: str,
                                                layer_id: str) -> None:
    layers = Path(services_of(app).settings.data_dir) / "layers"
    before = sorted(p.name for p in layers.iterdir()) if layers.is_dir() else []
    assert_problem(client.delete(f"/admin/api/layers/{layer_id}", headers=auth(token)), 404)
    after = sorted(p.name for p in layers.iterdir()) if layers.is_dir() else []
    assert after == before

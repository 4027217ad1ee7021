"""Imports are bounded: wall time (a GeoPackage view that never ends), raster pixels (refused
before reading), features; a failed import leaves no layer and nothing in ``data/tmp``."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from tests.builders import make_vector
from tests.conftest import ROOT, assert_problem, close_app, open_app
from webmap.services import build_services, services_of
from webmap.settings import Settings

TIMEOUT_S = 3.0
SLACK_S = 40.0
"""Start-up of the CLI and of the import's fork server on a busy two-core machine."""


def endless_gpkg(path: Path) -> Path:
    """A GeoPackage whose layer 'endless' is a view over an unbounded WITH RECURSIVE."""
    gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(25, 60)], crs=4326).to_file(
        path, layer="points", driver="GPKG")
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIEW endless AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL "
                 "SELECT n + 1 FROM r) SELECT r.n AS fid, p.geom AS geom FROM r, points AS p")
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                 "VALUES ('endless', 'features', 'endless', 4326)")
    conn.execute("INSERT INTO gpkg_geometry_columns VALUES "
                 "('endless', 'geom', 'POINT', 4326, 0, 0)")
    conn.commit()
    conn.close()
    return path


def sparse_tiff(path: Path, size: int = 100_000) -> Path:
    """A ``size`` × ``size`` GeoTIFF with one written block: a few hundred KiB on disk."""
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1,
                       dtype="uint8", crs="EPSG:3067", transform=from_origin(300_000,
                       7_000_000, 0.5, 0.5), tiled=True, blockxsize=1024, blockysize=1024,
                       compress="DEFLATE", sparse_ok=True, BIGTIFF="YES") as dst:
        dst.write(np.full((1, 1024, 1024), 7, dtype="uint8"),
                  window=rasterio.windows.Window(0, 0, 1024, 1024))
    assert path.stat().st_size < 5 * 1024 * 1024
    return path


def _left_behind(data_dir: Path, layer_id: str) -> list[str]:
    tmp = data_dir / "tmp"
    found = [str(p.relative_to(data_dir)) for p in tmp.rglob("*")] if tmp.is_dir() else []
    layers = data_dir / "layers" / layer_id
    if layers.is_dir():
        found += [str(p.relative_to(data_dir)) for p in layers.rglob("*")]
    rasters = data_dir / "rasters"
    if rasters.is_dir():
        found += [str(p.relative_to(data_dir)) for p in rasters.rglob(f"*{layer_id}*")]
    return found


def test_cli_stops_an_endless_geopackage_view_within_the_time_limit(tmp_path: Path) -> None:
    source = endless_gpkg(tmp_path / "endless.gpkg")
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WEBMAP_DATA_DIR": str(data),
           "WEBMAP_IMPORT_TIMEOUT_S": str(TIMEOUT_S)}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "webmap", "layers", "import", str(source),
                               "--id", "endless", "--layer", "endless"], env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S + SLACK_S)
    except subprocess.TimeoutExpired:
        pytest.fail("the import of an endless view was not stopped")
    took = time.monotonic() - started
    assert done.returncode != 0
    assert "WEBMAP_IMPORT_TIMEOUT_S" in done.stderr and "Traceback" not in done.stderr, \
        done.stderr
    assert took < TIMEOUT_S + SLACK_S
    listed = subprocess.run([sys.executable, "-m", "webmap", "layers", "list"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert "endless" not in listed.stdout
    assert _left_behind(data, "endless") == []


def _app(tmp_path: Path, **limits: Any) -> Any:
    return open_app(Settings(data_dir=tmp_path / "data", layers_dir=ROOT / "layers", **limits))


def _upload(client: Any, token: str, path: Path, **form: str) -> Any:
    return client.post("/admin/api/layers", headers={"Authorization": f"Bearer {token}"},
                       data={"file": (io.BytesIO(path.read_bytes()), path.name), **form})


def test_upload_of_an_endless_view_is_422_in_time_and_stores_nothing(tmp_path: Path) -> None:
    app = _app(tmp_path, import_timeout_s=TIMEOUT_S)
    try:
        client = app.test_client()
        token = services_of(app).tokens.create("staff")
        source = endless_gpkg(tmp_path / "endless.gpkg")
        started = time.monotonic()
        response = _upload(client, token, source, id="endless", layer="endless")
        assert time.monotonic() - started < TIMEOUT_S + SLACK_S
        assert_problem(response, 422, mentions="WEBMAP_IMPORT_TIMEOUT_S")
        assert client.get("/collections/endless").status_code == 404
        assert _left_behind(tmp_path / "data", "endless") == []
        # the service still imports a good file afterwards
        roads = make_vector(tmp_path / "tiet.geojson", fmt="geojson", n=5)
        assert _upload(client, token, roads, id="tiet").status_code in {200, 201}
    finally:
        close_app(app)


def test_a_huge_sparse_geotiff_is_refused_by_its_pixel_count(tmp_path: Path) -> None:
    app = _app(tmp_path)
    try:
        client = app.test_client()
        token = services_of(app).tokens.create("staff")
        source = sparse_tiff(tmp_path / "huge.tif")
        started = time.monotonic()
        response = _upload(client, token, source, id="huge")
        assert time.monotonic() - started < SLACK_S
        body = assert_problem(response, 413, mentions="WEBMAP_IMPORT_MAX_PIXELS")
        assert "100,000 × 100,000" in body["detail"]
        assert client.get("/collections/huge").status_code == 404
        assert _left_behind(tmp_path / "data", "huge") == []
    finally:
        close_app(app)


def test_more_features_than_the_limit_are_refused(tmp_path: Path) -> None:
    app = _app(tmp_path, import_max_features=10)
    try:
        client = app.test_client()
        token = services_of(app).tokens.create("staff")
        roads = make_vector(tmp_path / "tiet.geojson", fmt="geojson", n=40)
        assert_problem(_upload(client, token, roads, id="tiet"), 413,
                       mentions="WEBMAP_IMPORT_MAX_FEATURES")
        few = make_vector(tmp_path / "few.geojson", fmt="geojson", n=8)
        assert _upload(client, token, few, id="few").status_code in {200, 201}
    finally:
        close_app(app)


def test_stale_scratch_entries_are_removed_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tmp = data / "tmp"
    (tmp / "0123abcd").mkdir(parents=True)
    (tmp / "0123abcd" / "source.gpkg").write_bytes(b"half")
    (tmp / "upload-x").mkdir()
    (tmp / "kept" / "token").mkdir(parents=True)
    (tmp / "fresh").mkdir()
    old = time.time() - 3 * 3600
    for entry in ("0123abcd", "upload-x", "kept"):
        os.utime(tmp / entry, (old, old))
    services = build_services(Settings(data_dir=data, import_timeout_s=60))
    services.close()
    assert sorted(p.name for p in tmp.iterdir()) == ["fresh", "kept"]


def test_the_shipped_gunicorn_stops_an_endless_upload_and_keeps_serving(tmp_path: Path) -> None:
    """Under the shipped config (gevent workers) the import's child process is stopped in
    time, the worker lives on (its heartbeat runs while it waits) and answers 422."""
    import requests

    from tests.conftest import LiveServer

    data = tmp_path / "data"
    services = build_services(Settings(data_dir=data))
    try:
        token = services.tokens.create("staff")
    finally:
        services.close()
    source = endless_gpkg(tmp_path / "endless.gpkg")
    server = LiveServer(data, config=ROOT / "docker" / "gunicorn.conf.py", workers=1,
                        env={"WEBMAP_IMPORT_TIMEOUT_S": str(TIMEOUT_S)})
    try:
        started = time.monotonic()
        with source.open("rb") as file:
            response = requests.post(f"{server.url}/admin/api/layers",
                                     headers={"Authorization": f"Bearer {token}"},
                                     data={"id": "endless", "layer": "endless"},
                                     files={"file": ("endless.gpkg", file)},
                                     timeout=TIMEOUT_S + SLACK_S)
        assert time.monotonic() - started < TIMEOUT_S + SLACK_S
        assert response.status_code == 422, response.text[:500]
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert "WEBMAP_IMPORT_TIMEOUT_S" in response.json()["detail"]
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
    assert _left_behind(data, "endless") == []

"""Shared fixtures: settings, app, client, a layer builder and a live server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from hypothesis import settings as hypothesis_settings

from webmap.app import create_app
from webmap.services import Services, build_services, services_of
from webmap.settings import Settings
from webmap.types import ImportReport, LayerKind, NormalisedLayer

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


# CI replays the same generated examples every run (a failure there is reproducible and
# does not depend on luck); on a laptop each run explores new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Library versions and which optional groups run."""
    return [
        f"GDAL {pyogrio.__gdal_version_string__}, PROJ {pyproj.proj_version_str}, "
        f"GEOS {shapely.geos_version_string}, SQLite {sqlite3.sqlite_version}",
        f"shared data: {'found' if SHARED_DATA.is_dir() else 'missing'} ({SHARED_DATA})",
        "browser tests: " + ("required" if os.environ.get("WEBMAP_REQUIRE_BROWSER") == "1"
                             else "run if Chromium is present"),
        "postgis tests: " + ("required" if os.environ.get("WEBMAP_REQUIRE_POSTGIS") == "1"
                             else "run if PostGIS is present"),
        "qgis tests: " + ("required" if os.environ.get("WEBMAP_REQUIRE_QGIS") == "1"
                          else "run if /usr/bin/python3 imports qgis.core"),
        "ogc validator: " + ("required" if os.environ.get("WEBMAP_REQUIRE_VALIDATOR") == "1"
                             else "run if .ci/ogctests-venv exists"),
    ]


def assert_problem(response: Any, status: int, *, mentions: str | None = None) -> dict[str, Any]:
    """The RFC 9457 shape, the status, no traceback; returns the body."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in body["detail"] and "/work/" not in body["detail"]
    if mentions is not None:
        assert mentions.lower() in body["detail"].lower(), body["detail"]
    return body


TEST_DATABASE_URL = os.environ.get(
    "WEBMAP_TEST_DATABASE_URL", "postgresql://webmap:webmap@127.0.0.1:5432/webmap_test")
"""The PostGIS database the ``postgis`` backend parameter uses (one fresh schema per test)."""


@pytest.fixture(scope="session")
def postgis_database() -> str:
    """The test database's URL once it answers and has PostGIS; skips (or, with
    ``WEBMAP_REQUIRE_POSTGIS=1``, fails) when it does not."""
    import psycopg

    try:
        with psycopg.connect(TEST_DATABASE_URL, connect_timeout=3, autocommit=True) as conn:
            for extension in ("postgis", "unaccent"):
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    except psycopg.Error as exc:
        reason = (f"PostGIS test database {TEST_DATABASE_URL.rsplit('@', 1)[-1]} unavailable "
                  f"({str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}); "
                  "run .ci/postgis.sh or set WEBMAP_TEST_DATABASE_URL")
        if os.environ.get("WEBMAP_REQUIRE_POSTGIS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return TEST_DATABASE_URL


@contextmanager
def fresh_schema(database_url: str, prefix: str) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{joiner}options={quote(f'-csearch_path={schema},public')}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgis_url(postgis_database: str) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema (dropped after the test)."""
    with fresh_schema(postgis_database, "test") as url:
        yield url


BACKENDS = [pytest.param("gpkg", id="gpkg"),
            pytest.param("postgis", id="postgis", marks=pytest.mark.postgis)]


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings over an empty data directory, on each backend: the embedded GeoPackage store
    and PostGIS (a fresh schema of the test database)."""
    database_url = request.getfixturevalue("postgis_url") if request.param == "postgis" else None
    return Settings(data_dir=tmp_path / "data", layers_dir=ROOT / "layers",
                    database_url=database_url)


def open_app(settings: Settings) -> Any:
    """An app over new services of ``settings`` (``close_app`` releases them)."""
    application = create_app(build_services(settings))
    application.config["TESTING"] = True
    return application


def close_app(application: Any) -> None:
    """Close the services an app was made with."""
    services_of(application).close()


AppMaker = Callable[[Settings], Any]


@pytest.fixture
def make_app() -> Iterator[AppMaker]:
    """Make apps over services of given settings; their services close after the test."""
    opened: list[Services] = []

    def make(settings: Settings) -> Any:
        services = build_services(settings)
        opened.append(services)
        application = create_app(services)
        application.config["TESTING"] = True
        return application

    yield make
    for services in opened:
        services.close()


@pytest.fixture
def make_services() -> Iterator[Callable[[Settings], Services]]:
    """Open services of given settings (another host, a restore target); closed afterwards."""
    opened: list[Services] = []

    def make(settings: Settings) -> Services:
        services = build_services(settings)
        opened.append(services)
        return services

    yield make
    for services in opened:
        services.close()


@pytest.fixture
def app(settings: Settings, make_app: AppMaker) -> Any:
    """The app on the backend the settings choose."""
    return make_app(settings)


@pytest.fixture
def client(app: Any) -> Any:
    """Flask's test client."""
    return app.test_client()


STREETS = ["Hämeenkatu", "Åkerlundinkatu", "Töölönkatu", "Sörnäisten rantatie", "Kauppatori"]


def make_buildings(n: int = 500, *, seed: int = 3067, x0: float = 385_000.0,
                   y0: float = 6_672_000.0, span_m: float = 2_000.0,
                   nulls: bool = True) -> gpd.GeoDataFrame:
    """Rectangles in EPSG:3067 near Helsinki, returned in CRS84, with typed attributes."""
    rng = np.random.default_rng(seed)
    x = x0 + rng.uniform(0, span_m, n)
    y = y0 + rng.uniform(0, span_m, n)
    w = rng.uniform(8, 30, n)
    h = rng.uniform(8, 30, n)
    geoms = shapely.box(x, y, x + w, y + h)
    floors = rng.integers(1, 9, n).astype("int64")
    frame = gpd.GeoDataFrame({
        "name": [f"{STREETS[i % len(STREETS)]} {i}" for i in range(n)],
        "floors": floors,
        "area": np.round(w * h, 2),
        "listed": rng.random(n) < 0.2,
        "note": [None if nulls and i % 7 == 0 else f"huom {i}" for i in range(n)],
    }, geometry=geoms, crs="EPSG:3067")
    return frame.to_crs("OGC:CRS84")


LayerBuilder = Callable[..., ImportReport]


@pytest.fixture
def add_layer(app: Any) -> LayerBuilder:
    """Put a GeoDataFrame (in CRS84) into the store as a layer, as an import would."""
    store = services_of(app).layers

    def build(layer_id: str, frame: gpd.GeoDataFrame | None = None, *,
              source_crs: str = "EPSG:3067", title: str | None = None,
              editable: bool = False) -> ImportReport:
        frame = make_buildings() if frame is None else frame
        report = ImportReport(
            layer_id=layer_id, kind=LayerKind.VECTOR, title=title or layer_id,
            feature_count=len(frame), source_crs=source_crs,
            bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
            geometry_type=str(frame.geom_type.iloc[0]), editable=editable)
        return store.import_layer(layer_id, lambda _: NormalisedLayer(report=report,
                                                                      frame=frame))

    return build


class LiveServer:
    """webmap under gunicorn in a subprocess on 127.0.0.1, for real clients (GDAL, OWSLib).

    A subprocess, not a thread: GDAL holds the GIL during its HTTP requests when called
    through pyogrio, so an in-process server would never answer. The listening socket is
    bound here (a free port, no race) and handed to gunicorn as ``fd://``. The server shares
    ``data_dir`` with the test, which adds layers through the store; it sees them at once.
    """

    START_TIMEOUT_S = 30.0
    STOP_TIMEOUT_S = 10.0

    def __init__(self, data_dir: Path, *, layers_dir: Path = ROOT / "layers",
                 workers: int = 2, database_url: str | None = None,
                 env: dict[str, str] | None = None, config: Path | None = None,
                 access_log: Path | None = None) -> None:
        self.access_log = access_log  # one '"request line" status' per request, if given
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        extra = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEBMAP_")}
        env |= {"WEBMAP_DATA_DIR": str(data_dir), "WEBMAP_LAYERS_DIR": str(layers_dir),
                "WEBMAP_LOG_LEVEL": "WARNING"}
        if database_url:
            env["WEBMAP_DATABASE_URL"] = database_url
        env |= extra  # further WEBMAP_* settings for this server
        try:
            logging = (["--access-logfile", str(access_log),
                        "--access-logformat", '"%(r)s" %(s)s'] if access_log else [])
            self.process = subprocess.Popen(
                [*_gunicorn(), *(["--config", str(config)] if config else []), *logging,
                 "--workers", str(workers), "--bind", f"fd://{listener.fileno()}",
                 "--graceful-timeout", "5", "webmap.app:create_app()"],
                env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, pass_fds=(listener.fileno(),))
        finally:
            listener.close()
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_until_healthy(self) -> None:
        """Poll ``/healthz`` until it answers 200; fail with gunicorn's output otherwise."""
        deadline = time.monotonic() + self.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)  # polling a starting server, not a timing assumption
        pytest.fail(f"gunicorn did not answer /healthz within {self.START_TIMEOUT_S:.0f} s:\n"
                    f"{self.output()}")

    def requests(self) -> list[str]:
        """The request lines (``GET /path?query HTTP/1.1``) of the access log, health checks
        left out; gunicorn writes each line when the response is sent."""
        assert self.access_log is not None, "start the server with access_log=PATH"
        lines = self.access_log.read_text(encoding="utf-8").splitlines()
        return [line.split('"')[1] for line in lines
                if line.count('"') >= 2 and " /healthz " not in line]

    def output(self) -> str:
        """What gunicorn and the app wrote to stdout and stderr so far (the last 5,000 chars)."""
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-5000:]

    def stop(self) -> None:
        """Terminate gunicorn (graceful), kill it if it does not go in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=self.STOP_TIMEOUT_S)
        self.log.close()


def _gunicorn() -> list[str]:
    """The gunicorn of the Python running the tests (the project's virtualenv)."""
    script = Path(sys.executable).parent / "gunicorn"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gunicorn"]


@pytest.fixture
def live_server(settings: Settings, app: Any) -> Iterator[LiveServer]:
    """The test's data directory served by gunicorn on a free port (``app`` made it first)."""
    server = LiveServer(settings.data_dir, layers_dir=settings.layers_dir,
                        database_url=settings.database_url)
    yield server
    server.stop()


def make_cog(path: Path, *, epsg: int = 3067, size: int = 512, origin: tuple[float, float] = (
        385_000.0, 6_675_000.0), pixel_m: float = 5.0) -> Path:
    """An RGB uint8 Cloud Optimized GeoTIFF with a gradient (never blank) and overviews."""
    import rasterio
    from rasterio.transform import from_origin
    from rio_cogeo.cogeo import cog_translate
    from rio_cogeo.profiles import cog_profiles

    yy, xx = np.mgrid[0:size, 0:size]
    data = np.stack([(xx * 255 // size), (yy * 255 // size),
                     np.full((size, size), 128)]).astype("uint8")
    plain = path.with_suffix(".plain.tif")
    with rasterio.open(plain, "w", driver="GTiff", width=size, height=size, count=3,
                       dtype="uint8", crs=f"EPSG:{epsg}",
                       transform=from_origin(*origin, pixel_m, pixel_m)) as ds:
        ds.write(data)
    cog_translate(plain, path, cog_profiles.get("deflate"), quiet=True,
                  overview_level=3)
    plain.unlink()
    return path


@pytest.fixture
def add_raster(app: Any, tmp_path: Path) -> Callable[..., ImportReport]:
    """Put a generated COG into the store as a raster layer."""
    store = services_of(app).layers

    def build(layer_id: str, **options: Any) -> ImportReport:
        import rasterio
        from rasterio.warp import transform_bounds

        path = make_cog(tmp_path / f"{layer_id}.tif", **options)
        with rasterio.open(path) as ds:
            bbox = transform_bounds(ds.crs, "OGC:CRS84", *ds.bounds)
        report = ImportReport(layer_id=layer_id, kind=LayerKind.RASTER, title=layer_id,
                              feature_count=0, source_crs="EPSG:3067", bbox=bbox,
                              geometry_type="Raster")

        def importer(workdir: Path) -> NormalisedLayer:
            target = workdir / "cog.tif"
            target.write_bytes(path.read_bytes())
            return NormalisedLayer(report=report, raster_path=target)

        return store.import_layer(layer_id, importer)

    return build

"""A region on PostGIS: gunicorn servers over one schema and one Redis, and helpers to post
comments from many client addresses, find gunicorn's workers and read the staff export."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.comments.conftest import PLAN_LAYER, comment, map_file, write_maps
from tests.conftest import ROOT, LiveServer, close_app, fresh_schema, make_buildings, open_app
from webmap.services import services_of
from webmap.settings import Settings
from webmap.types import ImportReport, LayerKind, NormalisedLayer

REDIS_URL = os.environ.get("WEBMAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
"""The Redis the servers share (``.ci/run`` starts one); keys are per client address, and
every test posts from addresses of its own."""
MAP_ID = "alue-kaava"
RATE_LIMIT = "5/minute"
SECRET_KEY = "scale-test-secret-key-shared-by-every-host"  # noqa: S105 - a test fixture
GUNICORN_CONFIG = ROOT / "docker" / "gunicorn.conf.py"
HTTP_TIMEOUT_S = 20.0
"""No request may hang: a server that does not answer in time fails the test."""


def require(reason: str) -> None:
    """Fail in CI (``WEBMAP_REQUIRE_POSTGIS=1``), skip elsewhere."""
    if "1" in (os.environ.get("WEBMAP_REQUIRE_POSTGIS"), os.environ.get("WEBMAP_REQUIRE_REDIS")):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def redis_url() -> str:
    """The shared Redis, answering."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require(f"Redis at {REDIS_URL} unavailable ({exc}): start redis-server or set "
                "WEBMAP_TEST_REDIS_URL")
    return REDIS_URL


@pytest.fixture(scope="package")
def region_url(postgis_database: str) -> Iterator[str]:
    """A schema of its own in the test database for the whole package's servers."""
    with fresh_schema(postgis_database, "scale") as url:
        yield url


def plan_layer(n: int, *, label: str) -> NormalisedLayer:
    """The map's plan layer: ``n`` buildings named ``label 1`` … ``label n``."""
    frame = make_buildings(n, seed=n)
    frame["name"] = [f"{label} {i}" for i in range(1, n + 1)]
    report = ImportReport(layer_id=PLAN_LAYER, kind=LayerKind.VECTOR, title="Alueet",
                          feature_count=n, source_crs="EPSG:3067",
                          bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                          geometry_type="Polygon")
    return NormalisedLayer(report=report, frame=frame)


def seed(data_dir: Path, layers_dir: Path, database_url: str) -> str:
    """Prepare the database as an operator would before starting servers: tables, the plan
    layer (20 features) and a staff token, which it returns."""
    app = open_app(Settings(data_dir=data_dir, layers_dir=layers_dir,
                              database_url=database_url))
    try:
        services_of(app).layers.import_layer(
            PLAN_LAYER, lambda _: plan_layer(20, label="vanha"))
        return str(services_of(app).tokens.create("kirjaamo"))
    finally:
        close_app(app)


def region_env(redis: str) -> dict[str, str]:
    """What every host of the region shares: Redis, the rate limit, the secret, one proxy."""
    return {"WEBMAP_REDIS_URL": redis, "WEBMAP_COMMENT_RATE_LIMIT": RATE_LIMIT,
            "WEBMAP_SECRET_KEY": SECRET_KEY, "WEBMAP_PROXY_HOPS": "1"}


@dataclass
class Region:
    """Two hosts' worth of webmap over one database and one Redis."""

    servers: tuple[LiveServer, LiveServer]
    token: str
    database_url: str

    @property
    def auth(self) -> dict[str, str]:
        """The staff Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="package")
def region(tmp_path_factory: pytest.TempPathFactory, region_url: str,
           redis_url: str) -> Iterator[Region]:
    """Two gunicorn servers (2 workers each, own data dirs as on two hosts) over one PostGIS
    schema, one Redis and one layers directory holding a consultation map; run with the
    production settings (``docker/gunicorn.conf.py``: gevent workers)."""
    root = tmp_path_factory.mktemp("region")
    layers_dir = write_maps(root / "layers", {MAP_ID: map_file(MAP_ID)})
    token = seed(root / "seed", layers_dir, region_url)
    with ThreadPoolExecutor(2) as pool:
        started = [pool.submit(LiveServer, root / f"host-{name}", layers_dir=layers_dir,
                               workers=2, database_url=region_url, env=region_env(redis_url),
                               config=GUNICORN_CONFIG)
                   for name in ("a", "b")]
        servers = [future.result() for future in started]
    try:
        yield Region(servers=(servers[0], servers[1]), token=token, database_url=region_url)
    finally:
        for server in servers:
            server.stop()


def client_address() -> str:
    """A fresh address from the benchmarking range 198.18.0.0/15: a rate-limit key no other
    test uses."""
    return f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def post_comment(server: LiveServer, text: str, *, key: str | None = None,
                 address: str | None = None, map_id: str = MAP_ID) -> requests.Response:
    """POST one comment with an Idempotency-Key, as if from ``address`` behind the proxy."""
    headers = {"Idempotency-Key": key or str(uuid.uuid4()),
               "X-Forwarded-For": address or client_address()}
    return requests.post(f"{server.url}/maps/{map_id}/comments", json=comment(text=text),
                         headers=headers, timeout=HTTP_TIMEOUT_S)


def exported(server: LiveServer, auth: dict[str, str], *, map_id: str = MAP_ID
             ) -> list[dict[str, Any]]:
    """The staff GeoJSON export's features."""
    response = requests.get(f"{server.url}/admin/api/maps/{map_id}/comments",
                            params={"format": "geojson"}, headers=auth, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text[:500]
    features: list[dict[str, Any]] = response.json()["features"]
    return features


def workers(server: LiveServer) -> set[int]:
    """The pids of the gunicorn master's worker processes (read from /proc)."""
    master = server.process.pid
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            found.add(int(entry.name))
    return found

"""PostgreSQL stops mid-run: 503 problems with Retry-After, /readyz fails, /healthz stays up,
and the same gunicorn workers serve again on their own once PostgreSQL is back.

The database is a private PostgreSQL cluster (initdb + pg_ctl in a temporary directory, on a
free port), not the shared test cluster other tests use: stopping a real server exercises
what an outage does to pooled connections (the server closes them, new connects are
refused), which a TCP proxy would only imitate. It starts in about a second.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import morecantile
import pytest
import requests

from tests.comments.conftest import PLAN_LAYER, map_file, write_maps
from tests.conftest import LiveServer
from tests.scale.conftest import (
    GUNICORN_CONFIG,
    HTTP_TIMEOUT_S,
    MAP_ID,
    SECRET_KEY,
    post_comment,
    require,
    seed,
    workers,
)

pytestmark = [pytest.mark.postgis, pytest.mark.slow]

RECOVERY_DEADLINE_S = 30.0
WMQ = morecantile.tms.get("WebMercatorQuad")


def _bindir() -> Path | None:
    """PostgreSQL's server programs (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """A throw-away PostgreSQL cluster; run as ``postgres`` when the tests run as root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="webmap-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync", "--locale=C")
        self.start()

    @property
    def url(self) -> str:
        """The superuser's URL over TCP (trust authentication: the cluster is private)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        """Start and wait until it accepts connections (``pg_ctl -w``)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-l",
                  str(self.root / "log"), "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                  "-c fsync=off -c full_page_writes=off", "start")

    def stop(self) -> None:
        """Stop now: sessions are terminated, as in a crash or an operator's restart."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        """Stop if running and delete the cluster."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL with PostGIS, for this module alone."""
    import psycopg

    bindir = _bindir()
    if bindir is None:
        require("PostgreSQL's initdb was not found: install postgresql-15-postgis-3 "
                "(.ci/postgis.sh)")
    assert bindir is not None
    try:
        cluster = PrivatePostgres(bindir)
    except (subprocess.CalledProcessError, OSError, LookupError) as exc:
        require(f"a private PostgreSQL could not be started: {exc}")
        raise
    try:
        with psycopg.connect(cluster.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute("CREATE EXTENSION unaccent")
        yield cluster
    finally:
        cluster.remove()


def get(url: str) -> requests.Response:
    """GET that never hangs: a server that does not answer in time fails the test."""
    return requests.get(url, timeout=HTTP_TIMEOUT_S)


def assert_unavailable(response: requests.Response) -> None:
    """503, the problem shape, Retry-After."""
    assert response.status_code == 503, (response.request.url, response.status_code,
                                         response.text[:300])
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 503 and body["title"] and body["detail"]
    assert int(response.headers["Retry-After"]) > 0


def test_service_rides_out_a_database_outage(private_postgres: PrivatePostgres,
                                             tmp_path: Path) -> None:
    layers_dir = write_maps(tmp_path / "layers", {MAP_ID: map_file(MAP_ID)})
    seed(tmp_path / "seed", layers_dir, private_postgres.url)
    server = LiveServer(tmp_path / "host", layers_dir=layers_dir, workers=2,
                        database_url=private_postgres.url,
                        env={"WEBMAP_COMMENT_RATE_LIMIT": "off", "WEBMAP_SECRET_KEY": SECRET_KEY,
                             "WEBMAP_TILE_CACHE": "false"},
                        config=GUNICORN_CONFIG)
    try:
        minx, miny, maxx, maxy = get(f"{server.url}/collections/{PLAN_LAYER}"
                                     ).json()["extent"]["spatial"]["bbox"][0]
        tile = WMQ.tile((minx + maxx) / 2, (miny + maxy) / 2, 14)
        reads = [f"/collections/{PLAN_LAYER}/items?limit=5", "/collections",
                 f"/collections/{PLAN_LAYER}/tiles/WebMercatorQuad/14/{tile.y}/{tile.x}"]
        for path in ["/readyz", *reads]:
            assert get(server.url + path).status_code == 200, path
        assert post_comment(server, "ennen katkoa").status_code == 201
        serving = workers(server)

        private_postgres.stop()
        assert get(f"{server.url}/healthz").status_code == 200
        for _ in range(2):  # every worker, whether it had noticed or not
            assert_unavailable(get(f"{server.url}/readyz"))
            for path in reads:
                assert_unavailable(get(server.url + path))
            assert_unavailable(post_comment(server, f"katkon aikana {uuid.uuid4()}"))
        assert get(f"{server.url}/healthz").status_code == 200

        private_postgres.start()
        deadline = time.monotonic() + RECOVERY_DEADLINE_S
        while get(f"{server.url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "webmap did not recover by itself"
            time.sleep(0.2)  # polling for recovery, not a timing assumption
        for _ in range(4):  # both workers, not just the one that answered /readyz
            for path in ["/readyz", *reads]:
                response = get(server.url + path)
                assert response.status_code == 200, (path, response.text[:300])
            assert post_comment(server, f"katkon jälkeen {uuid.uuid4()}").status_code == 201
        assert workers(server) == serving, "recovered without restarting a worker"
        assert server.process.poll() is None
    finally:
        server.stop()

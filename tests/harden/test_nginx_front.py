"""The shipped nginx front (docker/nginx.conf) run for real in front of gunicorn: it passes
requests on, sets X-Forwarded-* itself, refuses oversized bodies, keeps tiles, and holds slow
clients without gunicorn noticing."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer, make_buildings
from webmap.services import build_services
from webmap.settings import Settings
from webmap.types import ImportReport, LayerKind, NormalisedLayer

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET",
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture
def front(tmp_path: Path) -> Iterator[int]:
    data = tmp_path / "data"
    services = build_services(Settings(data_dir=data))
    frame = make_buildings(200)
    report = ImportReport(layer_id="b", kind=LayerKind.VECTOR, title="b", feature_count=200,
                          source_crs="EPSG:3067",
                          bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                          geometry_type="Polygon")
    services.layers.import_layer("b", lambda _: NormalisedLayer(report=report, frame=frame))
    services.close()
    web = LiveServer(data, workers=2, config=ROOT / "docker" / "gunicorn.conf.py",
                     env={"WEBMAP_PROXY_HOPS": "1", "WEBMAP_MAX_UPLOAD_MB": "1"})
    port = _free_port()
    text = (ROOT / "docker" / "nginx.conf").read_text(encoding="utf-8")
    text = (text.replace("server web:8000;", f"server {web.url.removeprefix('http://')};")
            .replace("listen 8080;", f"listen 127.0.0.1:{port};")
            .replace("pid /run/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
            .replace("/var/cache/nginx/", f"{tmp_path}/cache/")
            .replace("client_max_body_size 200m;", "client_max_body_size 1m;"))
    assert text.count(str(port)) == 1 and "web:8000" not in text
    conf = tmp_path / "nginx.conf"
    conf.write_text(text + "\n", encoding="utf-8")
    prefix = tmp_path / "nginx"
    (tmp_path / "cache").mkdir()
    for sub in ("logs", "client_body_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp",
                "scgi_temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(conf)],
                           capture_output=True, text=True, check=False)
    if check.returncode != 0:
        web.stop()
        pytest.fail(check.stderr)
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g",
                                "daemon off; user root;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        web.stop()


def test_the_front_passes_sets_forwarding_and_keeps_tiles(front: int) -> None:
    status, headers, _ = _get(front, "/healthz", {"X-Forwarded-Proto": "https",
                                                  "X-Forwarded-Host": "evil.example"})
    assert status == 200
    assert "Strict-Transport-Security" not in headers  # nginx sets the scheme it saw: http
    _, _, body = _get(front, "/collections?f=json", {"X-Forwarded-Host": "evil.example"})
    assert b"evil.example" not in body
    path = "/collections/b/tiles/WebMercatorQuad/14/4738/9322"
    first = _get(front, path)
    again = _get(front, path)
    assert first[0] == again[0] and first[0] in {200, 204}
    assert first[1]["X-Cache-Status"] == "MISS" and again[1]["X-Cache-Status"] == "HIT"
    assert again[2] == first[2]


def test_the_front_refuses_an_oversized_body_before_gunicorn(front: int) -> None:
    status, _, _ = _get(front, "/maps/x/comments", {"Content-Type": "application/json"},
                        method="POST", body=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert status == 413


def test_slow_clients_at_the_front_leave_healthz_answering(front: int) -> None:
    opened = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", front), timeout=5)
        sock.sendall(b"GET /collections HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        opened.append(sock)
    try:
        worst = 0.0
        for _ in range(20):
            started = time.monotonic()
            assert _get(front, "/healthz")[0] == 200
            worst = max(worst, time.monotonic() - started)
            time.sleep(0.25)
        assert worst < 1.0
    finally:
        for sock in opened:
            sock.close()

"""The shipped gunicorn configuration survives slow clients: 50 connections that trickle their
request or never read their answer, held for 30 s, leave /healthz answering within 1 s."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer
from webmap.services import build_services
from webmap.settings import Settings

SLOW = 50
HOLD_S = float(os.environ.get("WEBMAP_SLOW_CLIENT_SECONDS", "30"))
BOUND_S = 1.0
CONFIG = ROOT / "docker" / "gunicorn.conf.py"


def _healthz(url: str, headers: dict[str, str] | None = None) -> tuple[int, float, dict[str, str]]:
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/healthz", headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started, dict(response.getheaders())
    finally:
        conn.close()


def _trickle(url: str, stop: threading.Event, opened: list[socket.socket]) -> None:
    """A request line sent one byte a second, never finished."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    opened.append(sock)
    line = b"GET /collections?f=json HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
    for byte in line:
        if stop.wait(1.0):
            return
        try:
            sock.send(bytes([byte]))
        except OSError:
            return


def _never_read(url: str, opened: list[socket.socket]) -> None:
    """A whole request for a large answer whose bytes are never read."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    opened.append(sock)
    sock.sendall(b"GET /openapi?f=json HTTP/1.1\r\nHost: x\r\n\r\n" * 3)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    data = tmp_path / "data"
    build_services(Settings(data_dir=data)).close()  # migrated before the workers start
    live = LiveServer(data, workers=2, config=CONFIG)
    yield live
    live.stop()


def test_fifty_slow_clients_leave_healthz_answering(server: LiveServer) -> None:
    stop = threading.Event()
    opened: list[socket.socket] = []
    workers = [threading.Thread(target=_trickle, args=(server.url, stop, opened), daemon=True)
               for _ in range(SLOW // 2)]
    for thread in workers:
        thread.start()
    for _ in range(SLOW - SLOW // 2):
        _never_read(server.url, opened)
    try:
        worst = 0.0
        checks = 0
        ends = time.monotonic() + HOLD_S
        while time.monotonic() < ends:
            status, took, _ = _healthz(server.url)
            assert status == 200
            worst = max(worst, took)
            checks += 1
            time.sleep(0.25)
        assert worst < BOUND_S, f"/healthz took {worst:.2f} s with {SLOW} slow clients"
        assert checks > HOLD_S  # it was asked all along
        assert len(opened) == SLOW
    finally:
        stop.set()
        for sock in opened:
            sock.close()


def test_gunicorn_does_not_take_x_forwarded_proto_from_anyone(server: LiveServer) -> None:
    """WEBMAP_PROXY_HOPS=0 (the default): the header is not believed, even from 127.0.0.1."""
    _, _, headers = _healthz(server.url, {"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in headers

"""The pages gunicorn writes itself (before the app runs) carry the security headers too:
tested against the shipped docker/gunicorn.conf.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT, LiveServer
from webmap.headers import CONTENT_SECURITY_POLICY


@pytest.fixture
def shipped(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "data", config=ROOT / "docker" / "gunicorn.conf.py",
                        workers=1)
    yield server
    server.stop()


def _raw(url: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("request_bytes", [
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",       # request line too long
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",  # header too long
    b"NOT A REQUEST\r\n\r\n",                                          # malformed
], ids=["line", "header", "malformed"])
def test_gunicorn_error_pages_carry_the_security_headers(shipped: LiveServer,
                                                         request_bytes: bytes) -> None:
    status, headers, body = _raw(shipped.url, request_bytes)
    assert status.split()[1] in {"400", "414", "431"}, status
    assert headers.get("x-content-type-options") == "nosniff", headers
    assert headers.get("content-security-policy") == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert int(headers["content-length"]) == len(body)
    assert b"<script" not in body and b"a" * 100 not in body
    # the app's own pages say the same
    _, app_headers, _ = _raw(shipped.url, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n"
                                          b"Accept: text/html\r\nConnection: close\r\n\r\n")
    assert app_headers.get("x-content-type-options") == "nosniff"

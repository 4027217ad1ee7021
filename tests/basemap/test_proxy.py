"""The tile proxy against a real WMTS server: MapProxy, started here on 127.0.0.1, serving
tiles it draws from a local source, behind a check that it was sent the right API key."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from PIL import Image
from werkzeug.serving import make_server

from tests.conftest import assert_problem
from webmap.settings import Settings

KEY = "s3cret-key-0123456789"
TILE = "/basemaps/nls/tiles/WebMercatorQuad/3/2/4.png"

MAPPROXY_YAML = """
services:
  wmts:
    restful: true
    kvp: false
layers:
  - name: taustakartta
    title: Test background map
    sources: [local_cache]
caches:
  local_cache:
    grids: [webmercator]
    sources: [local_wms]
    disable_storage: true
sources:
  local_wms:
    type: debug
grids:
  webmercator:
    base: GLOBAL_WEBMERCATOR
"""


class Upstream:
    """MapProxy's WSGI app behind a key check, with a log of what reached it."""

    def __init__(self, config: Path) -> None:
        from mapproxy.wsgiapp import make_wsgi_app

        self.app = make_wsgi_app(str(config))
        self.requests: list[str] = []
        self.delay = 0.0
        self.down = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests.append(environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", ""))
        if self.down:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down for maintenance"]
        if parse_qs(environ.get("QUERY_STRING", "")).get("api-key") != [KEY]:
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"bad key"]
        if self.delay:
            time.sleep(self.delay)
        environ = dict(environ, QUERY_STRING="")
        return self.app(environ, start_response)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[Upstream, str]]:
    config = tmp_path / "mapproxy.yaml"
    config.write_text(MAPPROXY_YAML, "utf-8")
    app = Upstream(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, upstream: tuple[Upstream, str],
             monkeypatch: pytest.MonkeyPatch) -> Settings:
    _, base = upstream
    folder = tmp_path / "styles" / "basemaps"
    folder.mkdir(parents=True)
    (folder / "nls.json").write_text(json.dumps({
        "title": {"fi": "Taustakartta", "sv": "Bakgrundskarta", "en": "Background map"},
        "attribution": "© Maanmittauslaitos",
        "upstream": {"url": base + "/wmts/taustakartta/{matrixset}/{z}/{x}/{y}.png",
                     "matrix_sets": {"WebMercatorQuad": "webmercator"},
                     "key_env": "WEBMAP_TEST_NLS_KEY", "palette": ["#ffffff"]}}), "utf-8")
    (folder / "nokey.json").write_text(json.dumps({
        "title": {"en": "Needs a key"},
        "upstream": {"url": base + "/wmts/taustakartta/{matrixset}/{z}/{x}/{y}.png",
                     "matrix_sets": {"WebMercatorQuad": "webmercator"},
                     "key_env": "WEBMAP_TEST_UNSET_KEY"}}), "utf-8")
    monkeypatch.setenv("WEBMAP_TEST_NLS_KEY", KEY)
    monkeypatch.delenv("WEBMAP_TEST_UNSET_KEY", raising=False)
    return dataclasses.replace(settings, styles_dir=tmp_path / "styles",
                               basemap_proxy_timeout=1.0, basemap_proxy_cache_mb=1)


def test_tiles_come_from_the_wmts_server_with_the_key_kept_on_the_server(
        client: Any, upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    response = client.get(TILE, headers={"Accept": "image/avif,image/webp,*/*"})
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (256, 256)
    assert server.requests == [f"/wmts/taustakartta/webmercator/3/4/2.png?api-key={KEY}"]
    # the very tile MapProxy serves, byte for byte
    from urllib.request import urlopen

    with urlopen(f"{base}/wmts/taustakartta/webmercator/3/4/2.png?api-key={KEY}") as direct:
        assert direct.read() == response.data
    # the browser never sees the key or the upstream host
    listing = client.get("/basemaps").get_data(as_text=True) + client.get(
        "/basemaps/nls").get_data(as_text=True)
    assert KEY not in listing and "127.0.0.1:" not in listing
    assert KEY not in str(response.headers)


def test_the_bounded_cache_answers_without_the_upstream(client: Any, settings: Settings,
                                                        upstream: tuple[Upstream, str]) -> None:
    server, _ = upstream
    first = client.get(TILE)
    server.down = True
    again = client.get(TILE)
    assert again.status_code == 200 and again.data == first.data
    assert len(server.requests) == 1
    for row in range(8):  # far more than 1 MiB of debug tiles would be kept unbounded
        for col in range(8):
            client.get(f"/basemaps/nls/tiles/WebMercatorQuad/6/{row}/{col}.png")
    total = sum(p.stat().st_size for p in (settings.data_dir / "cache" / "proxy").rglob("*")
                if p.is_file())
    assert total <= 1024 * 1024


def test_a_failing_upstream_gives_an_error_tile_or_a_problem(
        client: Any, upstream: tuple[Upstream, str]) -> None:
    server, _ = upstream
    server.down = True
    tile = client.get(TILE, headers={"Accept": "image/webp,*/*"})
    assert tile.status_code == 502 and tile.mimetype == "image/png"
    assert tile.headers["Cache-Control"] == "no-store"
    image = Image.open(io.BytesIO(tile.data)).convert("RGB")
    assert len(image.getcolors(65536) or []) > 2  # the message is drawn, not a blank tile
    assert_problem(client.get(TILE, headers={"Accept": "application/json"}), 502,
                   mentions="answered 503")


def test_a_slow_upstream_does_not_hold_the_worker(client: Any,
                                                  upstream: tuple[Upstream, str]) -> None:
    server, _ = upstream
    server.delay = 3.0
    started = time.monotonic()
    response = client.get(TILE, headers={"Accept": "application/json"})
    assert time.monotonic() - started < 2.5
    assert_problem(response, 504, mentions="did not answer in time")


def test_a_base_without_its_key_is_not_offered(client: Any) -> None:
    ids = [b["id"] for b in client.get("/basemaps").get_json()["basemaps"]]
    assert "nls" in ids and "nokey" not in ids
    assert_problem(client.get("/basemaps/nokey/tiles/WebMercatorQuad/3/2/4.png"), 404,
                   mentions="WEBMAP_TEST_UNSET_KEY is not set")


def test_a_grid_the_service_lacks_is_a_404(client: Any) -> None:
    assert_problem(client.get("/basemaps/nls/tiles/ETRS-TM35FIN/3/2/4.png"), 404,
                   mentions="not offered in ETRS-TM35FIN")

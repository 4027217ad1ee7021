"""A gunicorn serving the demo plan and maps for the widget's browser tests, two more origins
(a host e-service on ``localhost``, a third site on ``127.0.0.2``) and keyboard helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, LiveServer
from webmap.layers import import_file
from webmap.settings import Settings

DEMO = ROOT / "layers" / "demo"
PLAN_MAP = "kaava"
HKI_MAP = "keskusta"
LAYERS = [  # (id, file under layers/demo, layer in the file)
    ("asemakaava-alueet", "qaava-asemakaava/asemakaava.gpkg", "asemakaava_maankaytto"),
    ("asemakaava-osa-alueet", "qaava-asemakaava/asemakaava.gpkg", "asemakaava_osa_alueet"),
    ("municipalities", "nls-municipalities/kuntarajat.2023.json", None),
    ("postal-areas", "hsy-postal-areas/PKS_postinumeroalueet_2023_manner_shp.zip", None),
    ("helsinki-places", "osm-helsinki/Helsinki.osm.pbf", "points"),
]


class _Pages(BaseHTTPRequestHandler):
    """Serves the fixed pages of one origin; quiet."""

    pages: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.pages.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """No request log in the test output."""


def _serve(host: str, pages: dict[str, str]) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Pages", (_Pages,), {"pages": pages})
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


@pytest.fixture(scope="module")
def origins() -> Iterator[dict[str, Any]]:
    """A host origin (localhost) and a third origin (127.0.0.2), pages filled in later."""
    host_pages: dict[str, str] = {}
    third_pages: dict[str, str] = {}
    host, host_url = _serve("localhost", host_pages)
    third, third_url = _serve("127.0.0.2", third_pages)
    yield {"host": host_url, "third": third_url, "host_pages": host_pages,
           "third_pages": third_pages}
    host.shutdown()
    third.shutdown()


def _map_file(source: str, map_id: str, origin: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "layers" / "maps" / f"{source}.json").read_text())
    data["id"] = map_id
    data["origins"] = [origin]
    return data


@dataclass(frozen=True)
class Site:
    """A running widget server and the directories it serves."""

    url: str
    data_dir: Path
    layers_dir: Path

    def cli(self, *args: str) -> str:
        """Run ``webmap ARGS`` on this site's data; its standard output."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEBMAP_")}
        env |= {"WEBMAP_DATA_DIR": str(self.data_dir), "WEBMAP_LAYERS_DIR": str(self.layers_dir)}
        done = subprocess.run([sys.executable, "-c", "from webmap.cli import main; main()",
                               *args], env=env, capture_output=True, text=True, timeout=120,
                              check=False, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def widget_server(widget_site: Site) -> str:
    """The widget server's base URL."""
    return widget_site.url


@pytest.fixture(scope="module")
def widget_site(tmp_path_factory: pytest.TempPathFactory,
                origins: dict[str, Any]) -> Iterator[Site]:
    """gunicorn with the demo plan, the postal areas and two maps embeddable by the host."""
    from webmap.basemap.build import build_basemap
    from webmap.services import open_services

    root = tmp_path_factory.mktemp("widget")
    layers_dir = root / "layers"
    (layers_dir / "maps").mkdir(parents=True)
    settings = Settings(data_dir=root / "data", layers_dir=layers_dir)
    with open_services(settings) as services:
        for layer_id, path, layer in LAYERS:
            import_file(services.layers, DEMO / path, layer_id, layer=layer)
        # the Helsinki map's base, as `webmap demo` builds it
        build_basemap(services.layers, settings.styles_dir, "helsinki-osm",
                      [DEMO / "osm-helsinki" / "Helsinki.osm.pbf"], write_styles=False)
    for source, map_id in (("paimio-asemakaava", PLAN_MAP), ("helsinki-keskusta", HKI_MAP)):
        (layers_dir / "maps" / f"{map_id}.json").write_text(
            json.dumps(_map_file(source, map_id, origins["host"])), encoding="utf-8")
    # Browser tests post a few comments each from 127.0.0.1; the limit itself is tested elsewhere.
    server = LiveServer(settings.data_dir, layers_dir=layers_dir,
                        env={"WEBMAP_COMMENT_RATE_LIMIT": "1000/minute"})
    yield Site(server.url, settings.data_dir, layers_dir)
    server.stop()


def open_page(chromium: Any, url: str, *, width: int = 1280, height: int = 800,
          **options: Any) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   bypass_csp=True, **options)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_selector("html[data-ready]")
    return context, page, requests


def wait_until(frame: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll ``expression`` in ``frame`` until it is true (the widget's CSP forbids the eval
    that Playwright's wait_for_function uses)."""
    deadline = time.monotonic() + timeout_s
    while not frame.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            state = frame.evaluate("() => [webmapMap.getZoom(), document.activeElement.id]")
            pytest.fail(f"{expression} did not become true in {timeout_s:.0f} s; {state}")
        frame.page.wait_for_timeout(30)  # polling the page, not a timing assumption


def tab_until(page: Any, frame: Any, predicate: str, limit: int = 60) -> None:
    """Press Tab until ``predicate`` (JS on document.activeElement, in the frame) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if frame.evaluate(f"(el => Boolean({predicate}))(document.activeElement)"):
            return
    pytest.fail(f"Tab never reached {predicate}")



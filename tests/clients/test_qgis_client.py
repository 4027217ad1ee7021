"""QGIS itself, headless, against a live gunicorn: Debian bookworm's PyQGIS 3.22 (apt
python3-qgis, qgis-providers) runs tests/clients/qgis_oapif.py under /usr/bin/python3 and
opens collections through its OAPIF provider, as staff do with *Add WFS / OGC API - Features
Layer*.

What QGIS 3.22 does, checked here: it opens each collection by name (and refuses an unknown
one), reads every feature and the schema, takes the layer's extent from the collection,
filters with expressions and subset strings, and reads in CRS84 (EPSG:4326).

What QGIS 3.22 does not do, recorded here so that a newer QGIS shows up as a change:
- editing: the OAPIF provider offers no edit capabilities on any layer, editable or not.
  Editing OAPIF layers (Part 4: OPTIONS, POST, PUT, PATCH, DELETE) came with QGIS 3.30,
  which bookworm does not ship; the requests QGIS 3.30 makes are replayed in
  tests/api/test_edit*.py and by OWSLib in test_edit_clients.py. With QGIS >= 3.30 this test
  expects the edit capabilities on the editable layer only (authentication, an API-header
  authcfg with the bearer token, is not exercised headless).
- ``srsname='EPSG:3067'``: ignored, QGIS 3.22 asks for CRS84 and reprojects itself;
- filters: evaluated in QGIS after downloading the pages; no property or CQL2 filter is sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import LiveServer, make_buildings

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_oapif.py")


def _qgis_importable() -> bool:
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                              timeout=60, check=False, env=_qgis_env())
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _qgis_env() -> dict[str, str]:
    runtime = Path(tempfile.gettempdir()) / f"qgis-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": str(runtime),
            "XDG_RUNTIME_DIR": str(runtime), "LANG": "C.UTF-8"}


@pytest.fixture(scope="module", autouse=True)
def _needs_qgis() -> None:
    if not _qgis_importable():
        message = ("PyQGIS is not installed for /usr/bin/python3 "
                   "(apt-get install python3-qgis qgis-providers)")
        if os.environ.get("WEBMAP_REQUIRE_QGIS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def served(settings: Any, app: Any, add_layer: Any, tmp_path: Path) -> Iterator[
        tuple[LiveServer, Any]]:
    frame = make_buildings(300)
    add_layer("buildings", frame, editable=True)
    add_layer("readonly", make_buildings(40, seed=7))
    server = LiveServer(settings.data_dir, layers_dir=settings.layers_dir,
                        database_url=settings.database_url, workers=2,
                        access_log=tmp_path / "access.log")
    yield server, frame
    server.stop()


def _run_qgis(url: str, *collections: str) -> dict[str, Any]:
    done = subprocess.run([SYSTEM_PYTHON, str(SCRIPT), url, *collections],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=_qgis_env())
    assert done.returncode == 0, f"QGIS exited with {done.returncode}:\n{done.stderr[-3000:]}"
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


def test_qgis_reads_filters_and_reports_edit_capabilities(served: tuple[LiveServer, Any]
                                                          ) -> None:
    server, frame = served
    seen = _run_qgis(server.url, "buildings", "readonly", "no-such-layer")
    version = seen["qgis_version_int"]
    layers = seen["collections"]
    buildings = layers["buildings"]

    assert buildings["valid"] and layers["readonly"]["valid"]
    assert layers["no-such-layer"] == {"valid": False}
    assert buildings["feature_count"] == buildings["features_read"] == len(frame)
    assert layers["readonly"]["features_read"] == 40
    assert buildings["fields"] == ["name", "floors", "area", "listed", "note"]
    assert buildings["crs"] == "EPSG:4326"
    west, south, east, north = (float(v) for v in frame.total_bounds)
    x0, y0, x1, y1 = buildings["extent"]
    assert x0 <= west and y0 <= south and x1 >= east and y1 >= north, buildings["extent"]
    assert max(west - x0, south - y0, x1 - east, y1 - north) < 1e-6, buildings["extent"]

    matching = int((frame.floors == 3).sum())
    assert matching > 0
    assert buildings["request_filter"] == matching
    assert buildings["subset_accepted"] and buildings["subset_filter"] == matching

    editing = ("AddFeatures", "ChangeAttributeValues", "ChangeGeometries", "DeleteFeatures")
    if version >= 33000:  # QGIS 3.30 edits OAPIF layers the server allows writes on
        assert all(buildings["capabilities"][name] for name in editing), buildings
        assert not any(layers["readonly"]["capabilities"][name] for name in editing)
    else:  # Debian bookworm's 3.22: no OAPIF editing at all
        assert not any(buildings["capabilities"][name] for name in editing), buildings
        assert not any(layers["readonly"]["capabilities"][name] for name in editing)

    national = buildings["srsname_3067"]
    assert national["valid"] and national["first_bbox"] is not None
    items = [parse_qs(urlsplit(line.split()[1]).query) for line in server.requests()
             if urlsplit(line.split()[1]).path == "/collections/buildings/items"]
    assert items, server.requests()
    if version < 32300:
        # Recorded for 3.22: CRS84 only, and every filter evaluated by QGIS itself.
        assert national["crs"] == "EPSG:4326"
        assert not any("crs" in q or "floors" in q or "filter" in q for q in items), items
    # Whatever CRS QGIS settles on, the coordinates are in it (degrees or metres).
    assert national["crs"] in {"EPSG:4326", "EPSG:3067"}, national
    low, high = (24, 25) if national["crs"] == "EPSG:4326" else (380_000, 390_000)
    assert low < national["first_bbox"][0] < high, national

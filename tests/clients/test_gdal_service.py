"""GDAL's OGC API - Features driver (Debian's ogrinfo/ogr2ogr) opens the whole service of a
live server, vector and raster collections together, without one error line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, make_buildings

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None,
                                reason="gdal-bin is not installed (apt-get install gdal-bin)")


def _run(*args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "30",
                               "CPL_DEBUG": "ON" if debug else "OFF"})


def test_gdal_opens_the_whole_service(add_layer: Any, add_raster: Any,
                                      live_server: LiveServer, tmp_path: Path) -> None:
    frame = make_buildings(120)
    add_layer("buildings", frame)
    add_raster("ortho")
    listing = _run("ogrinfo", "-ro", "-so", "-al", f"OAPIF:{live_server.url}")
    assert listing.returncode == 0, listing.stderr
    assert "ERROR" not in listing.stderr and "Warning" not in listing.stderr, listing.stderr
    assert "Layer name: buildings" in listing.stdout
    assert "Feature Count: 120" in listing.stdout
    assert "ortho" not in listing.stdout, "a raster is no feature collection"
    out = tmp_path / "all.gpkg"
    copied = _run("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server.url}")
    assert copied.returncode == 0, copied.stderr
    assert "ERROR" not in copied.stderr, copied.stderr
    count = _run("ogrinfo", "-ro", "-so", str(out), "buildings")
    assert "Feature Count: 120" in count.stdout, count.stdout
    filtered = _run("ogrinfo", "-ro", "-al", "-q", "-where", "floors = 3",
                    "--config", "CPL_DEBUG", "ON", f"OAPIF:{live_server.url}/collections/buildings")
    assert filtered.returncode == 0 and "ERROR" not in filtered.stderr, filtered.stderr
    assert filtered.stdout.count("OGRFeature(buildings)") == int((frame.floors == 3).sum())
    assert "floors=3" in filtered.stderr, "the filter is sent to the server (declared in /api)"

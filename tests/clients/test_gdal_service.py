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


def test_gdal_mvt_driver_reads_a_tile_url_with_a_suffix(add_layer: Any,
                                                        live_server: LiveServer) -> None:
    import morecantile

    frame = make_buildings(60)
    add_layer("buildings", frame)
    point = frame.geometry.union_all().centroid
    tile = morecantile.tms.get("WebMercatorQuad").tile(point.x, point.y, 14)
    base = f"{live_server.url}/collections/buildings/tiles/WebMercatorQuad/14/{tile.y}/{tile.x}"
    for suffix in ("mvt", "pbf"):
        read = _run("ogrinfo", "-ro", "-al", "-so", "-oo", "Z=14", "-oo", f"X={tile.x}",
                    "-oo", f"Y={tile.y}", f"/vsicurl/{base}.{suffix}")
        assert read.returncode == 0 and "ERROR" not in read.stderr, read.stderr
        assert "Layer name: buildings" in read.stdout
        count = int(read.stdout.split("Feature Count: ")[1].split()[0])
        assert count > 0
    png = _run("ogrinfo", "-ro", "-so", f"/vsicurl/{base}.png")
    assert png.returncode != 0, "a vector layer has no .png tiles"

"""Part 4 with real clients against live gunicorn servers: OWSLib creates, replaces and deletes
features; GDAL's OAPIF driver and MVT driver read the change back; a second server on the
same storage (PostGIS, or the data directory) sees each edit at once."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import morecantile
import pytest
from owslib.ogcapi.features import Features

from tests.conftest import LiveServer, make_buildings
from webmap.services import services_of

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None,
                                reason="gdal-bin is not installed (apt-get install gdal-bin)")
ZOOM = 14


def _count(target: str, *options: str) -> int:
    done = subprocess.run(["ogrinfo", "-ro", "-al", "-so", *options, target],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stderr
    return int(done.stdout.split("Feature Count: ")[1].split()[0])


def _tile_count(server: LiveServer, tile: Any, path: Path) -> int:
    url = (f"{server.url}/collections/buildings/tiles/WebMercatorQuad/"
           f"{ZOOM}/{tile.y}/{tile.x}")
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - local server
        path.write_bytes(answer.read())
    return _count(str(path), "-oo", f"Z={ZOOM}", "-oo", f"X={tile.x}", "-oo", f"Y={tile.y}")


def test_owslib_edits_and_gdal_sees_them(app: Any, settings: Any, add_layer: Any,
                                         live_server: LiveServer, tmp_path: Path) -> None:
    add_layer("buildings", make_buildings(40), editable=True)
    token = services_of(app).tokens.create("qgis-user")
    other = LiveServer(settings.data_dir, layers_dir=settings.layers_dir,
                       database_url=settings.database_url, workers=1)
    try:
        client = Features(live_server.url)
        client.headers = {**client.headers, "Authorization": f"Bearer {token}"}
        reader = Features(other.url)
        x, y = 24.9401, 60.1702
        tile = morecantile.tms.get("WebMercatorQuad").tile(x, y, ZOOM)
        before = _tile_count(live_server, tile, tmp_path / "before.mvt")
        feature = {"type": "Feature", "properties": {"name": "Uusi talo", "floors": 3},
                   "geometry": {"type": "Polygon", "coordinates": [[
                       [x, y], [x + 0.0002, y], [x + 0.0002, y + 0.0001],
                       [x, y + 0.0001], [x, y]]]}}
        assert client.collection_item_create("buildings", feature)
        fid = client.response_headers["Location"].rsplit("/", 1)[1]
        assert reader.collection_item("buildings", fid)["properties"]["name"] == "Uusi talo"
        assert _count(f"OAPIF:{other.url}/collections/buildings") == 41
        assert _tile_count(other, tile, tmp_path / "after.mvt") == before + 1

        feature["properties"] = {"name": "Korjattu", "floors": 4}
        assert client.collection_item_update("buildings", fid, feature)
        assert reader.collection_item("buildings", fid)["properties"] == {
            "name": "Korjattu", "floors": 4, "area": None, "listed": None, "note": None}

        assert client.collection_item_delete("buildings", fid)
        assert _count(f"OAPIF:{other.url}/collections/buildings") == 40
        assert _tile_count(other, tile, tmp_path / "gone.mvt") == before
        with pytest.raises(RuntimeError):
            reader.collection_item("buildings", fid)
    finally:
        other.stop()

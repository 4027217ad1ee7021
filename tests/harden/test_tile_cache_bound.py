"""The rendered-tile cache is bounded: no empty tiles, at most N files / M bytes, oldest out."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import morecantile

from tests.conftest import AppMaker, make_buildings
from webmap.services import services_of
from webmap.settings import Settings
from webmap.tiles.cache import DiskTileCache
from webmap.types import ImportReport, LayerKind, NormalisedLayer

WMQ = morecantile.tms.get("WebMercatorQuad")


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _app(tmp_path: Path, make_app: AppMaker, **bounds: int) -> Any:
    app = make_app(Settings(data_dir=tmp_path / "data", **bounds))  # type: ignore[arg-type]
    frame = make_buildings(500)
    report = ImportReport(layer_id="b", kind=LayerKind.VECTOR, title="b", feature_count=500,
                          source_crs="EPSG:3067",
                          bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                          geometry_type="Polygon")
    services_of(app).layers.import_layer("b", lambda _: NormalisedLayer(report=report,
                                                                        frame=frame))
    return app, frame


def _tiles(frame: Any, zooms: range, margin: int = 1) -> list[morecantile.Tile]:
    west, south, east, north = frame.total_bounds
    found = []
    for z in zooms:
        corner_a = WMQ.tile(west, north, z)
        corner_b = WMQ.tile(east, south, z)
        for x in range(corner_a.x - margin, corner_b.x + margin + 1):
            for y in range(corner_a.y - margin, corner_b.y + margin + 1):
                found.append(morecantile.Tile(x, y, z))
    return found


def test_many_distinct_tiles_keep_the_cache_under_its_file_bound(tmp_path: Path,
                                                                 make_app: AppMaker) -> None:
    app, frame = _app(tmp_path, make_app, tile_cache_files=30)
    client = app.test_client()
    root = tmp_path / "data" / "cache" / "tiles"
    tiles = _tiles(frame, range(12, 17))
    full = 0
    first = newest = None
    for tile in tiles:
        response = client.get(f"/collections/b/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        assert response.status_code in {200, 204}
        if response.status_code == 200:
            full += 1
            first = first or tile
            newest = tile
        assert len(_files(root)) <= 30
    assert full > 40 and len(tiles) - full > 20  # the run wrote past the bound, and empties
    kept = _files(root)
    assert 20 <= len(kept) <= 30
    assert all(p.stat().st_size > 0 for p in kept)  # empty tiles are never stored
    assert first is not None and newest is not None  # the oldest went, the newest stayed
    assert not list(root.glob(f"b/*/WebMercatorQuad/{first.z}/{first.y}/{first.x}.mvt"))
    assert list(root.glob(f"b/*/WebMercatorQuad/{newest.z}/{newest.y}/{newest.x}.mvt"))


def test_the_byte_bound_removes_the_oldest_first(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = DiskTileCache(root, max_bytes=10_000, max_files=1_000)
    old = root / "x" / "old.mvt"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"o" * 6_000)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    new = root / "x" / "new.mvt"
    new.write_bytes(b"n" * 3_000)
    assert cache.trim(files=1_000, size=8_000) == 1
    assert not old.exists() and new.exists()


def test_empty_tiles_are_not_stored_and_a_zero_bound_keeps_nothing(tmp_path: Path,
                                                                   make_app: AppMaker) -> None:
    app, frame = _app(tmp_path, make_app)
    client = app.test_client()
    root = tmp_path / "data" / "cache" / "tiles"
    far = WMQ.tile(-150.0, -60.0, 10)
    assert client.get(f"/collections/b/tiles/WebMercatorQuad/10/{far.y}/{far.x}"
                      ).status_code == 204
    assert _files(root) == []
    assert not DiskTileCache(root, max_bytes=0).enabled

"""Raster tiles drawn by many threads at once (gunicorn's gthread workers) are the tiles drawn
one at a time, and a replaced file's readers are closed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import morecantile
import pytest

from tests.conftest import make_cog
from webmap.store import rasters as cog
from webmap.tiles.request import TileRequest

GRID = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture
def raster(tmp_path: Path) -> Path:
    return make_cog(tmp_path / "ortho.tif", size=1024)


def _tiles(path: Path) -> list[TileRequest]:
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(path) as ds:
        west, south, east, north = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
    return [TileRequest(GRID, t.z, t.y, t.x)
            for z in (13, 14) for t in GRID.tiles(west, south, east, north, [z])]


def test_tiles_drawn_by_eight_threads_equal_the_tiles_drawn_alone(raster: Path) -> None:
    tiles = _tiles(raster)
    assert len(tiles) >= 12
    alone = [cog.render_tile(raster, tile) for tile in tiles]
    assert sum(1 for png in alone if png) >= 12  # most tiles hold pixels
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            together = list(pool.map(lambda t: cog.render_tile(raster, t), tiles))
            assert together == alone
    # no more readers kept than threads drew at once, and at least one kept for reuse
    assert 1 <= cog._readers.idle(raster) <= 8


def test_a_reader_is_lent_to_one_thread_at_a_time(raster: Path) -> None:
    tile = _tiles(raster)[0]
    lent: list[object] = []
    both_inside = threading.Barrier(2, timeout=10)

    def borrow() -> None:
        with cog._readers.lend(raster, tile) as reader:
            lent.append(reader)
            both_inside.wait()  # both threads hold a reader at the same moment

    threads = [threading.Thread(target=borrow) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lent) == 2 and lent[0] is not lent[1]


def test_forgetting_a_file_closes_its_readers_even_one_lent_out(raster: Path) -> None:
    tile = next(t for t in _tiles(raster) if cog.render_tile(raster, t))
    with cog._readers.lend(raster, tile) as lent, cog._readers.lend(raster, tile) as other:
        pass
    assert cog._readers.idle(raster) == 2
    with cog._readers.lend(raster, tile) as lent:
        cog.forget(raster)
        assert cog._readers.idle(raster) == 0
        assert other.dataset.closed  # the idle one is closed at once
        assert not lent.dataset.closed  # the lent one is still drawing
    assert lent.dataset.closed  # closed when it came back, not kept
    assert cog._readers.idle(raster) == 0
    assert cog.render_tile(raster, tile)  # a new reader opens

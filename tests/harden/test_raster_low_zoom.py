"""Low-zoom tiles of a small raster answer at once: blank (204) where the raster would be a
speck, never a minutes-long warp of the whole world."""

from __future__ import annotations

import time
from typing import Any

import morecantile
import pytest
from pyproj import Transformer

from webmap.tiles.grids import GRIDS

WMQ = morecantile.tms.get("WebMercatorQuad")
BOUND_S = 2.0


def _centre(client: Any) -> tuple[float, float]:
    minx, miny, maxx, maxy = client.get("/collections/ortho").get_json()[
        "extent"]["spatial"]["bbox"][0]
    return (minx + maxx) / 2, (miny + maxy) / 2


@pytest.mark.parametrize("grid_id", ["WebMercatorQuad", "ETRS-TM35FIN"])
def test_low_zoom_raster_tiles_answer_within_a_bound(client: Any, add_raster: Any,
                                                     grid_id: str) -> None:
    add_raster("ortho")  # 512 × 512 px of 5 m, overviews 2, 4, 8
    lon, lat = _centre(client)
    if grid_id == "WebMercatorQuad":
        tiles = [WMQ.tile(lon, lat, z) for z in range(0, 15)]
    else:
        x, y = Transformer.from_crs("OGC:CRS84", "EPSG:3067", always_xy=True).transform(lon, lat)
        tiles = [GRIDS[grid_id]._tile(x, y, z) for z in range(0, 12)]
    answers = {}
    for tile in tiles:
        started = time.monotonic()
        response = client.get(f"/collections/ortho/tiles/{grid_id}/{tile.z}/{tile.y}/{tile.x}")
        took = time.monotonic() - started
        assert took < BOUND_S, f"z{tile.z} took {took:.1f} s"
        answers[tile.z] = response.status_code
    assert all(answers[z] == 204 for z in range(0, 4)), answers  # a speck: blank
    deepest = max(answers)
    assert answers[deepest] == 200 and answers[deepest - 1] == 200, answers

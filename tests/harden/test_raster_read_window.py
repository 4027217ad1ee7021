"""A raster tile never reads more than a bounded number of source pixels: mid zoom on a large
raster without overviews answers at once (422 naming the setting), not after a worker kill."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from tests.conftest import assert_problem
from webmap.services import services_of
from webmap.tiles.grids import GRIDS
from webmap.types import ImportReport, LayerKind, NormalisedLayer

SIZE = 16_384
PIXEL_M = 1.0
BOUND_S = 5.0


def _no_overviews(path: Path) -> Path:
    """16,384² px of 1 m without overviews, mostly sparse (small on disk), a gradient at the
    centre so deep tiles have something to draw."""
    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=1,
                       dtype="uint8", crs="EPSG:3067",
                       transform=from_origin(380_000, 6_690_000, PIXEL_M, PIXEL_M),
                       tiled=True, blockxsize=512, blockysize=512, compress="DEFLATE",
                       sparse_ok=True) as dst:
        centre = SIZE // 2 - 1024
        block = (np.add.outer(np.arange(2048), np.arange(2048)) % 250 + 1).astype("uint8")
        dst.write(block[np.newaxis], window=Window(centre, centre, 2048, 2048))
    return path


def test_mid_zoom_on_a_raster_without_overviews_is_bounded(client: Any, app: Any,
                                                           tmp_path: Path) -> None:
    source = _no_overviews(tmp_path / "big.tif")
    report = ImportReport(layer_id="big", kind=LayerKind.RASTER, title="big", feature_count=0,
                          source_crs="EPSG:3067", bbox=(24.0, 60.0, 24.5, 60.2),
                          geometry_type="Raster")

    def importer(workdir: Path) -> NormalisedLayer:  # the file as it is, overviews none
        target = workdir / "big.tif"
        target.write_bytes(source.read_bytes())
        return NormalisedLayer(report=report, raster_path=target)

    services_of(app).layers.import_layer("big", importer)
    grid = GRIDS["ETRS-TM35FIN"]
    x = 380_000 + SIZE * PIXEL_M / 2
    y = 6_690_000 - SIZE * PIXEL_M / 2
    answers = {}
    for zoom in range(0, 16):
        tile = grid._tile(x, y, zoom)
        started = time.monotonic()
        response = client.get(f"/collections/big/tiles/ETRS-TM35FIN/{tile.z}/{tile.y}/{tile.x}")
        took = time.monotonic() - started
        assert took < BOUND_S, f"z{zoom} took {took:.1f} s"
        answers[zoom] = response.status_code
        if response.status_code == 422:
            assert_problem(response, 422, mentions="WEBMAP_RASTER_TILE_MAX_READ_PIXELS")
        assert client.get("/healthz").status_code == 200
    assert 422 in answers.values(), answers  # mid zoom: refused, not read
    assert answers[15] == 200 and answers[14] == 200, answers
    assert set(answers.values()) <= {200, 204, 422}, answers

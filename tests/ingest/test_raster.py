"""GeoTIFF uploads become valid Cloud Optimized GeoTIFFs with internal overviews."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from tests.builders import make_geotiff, make_zip
from webmap.ingest.raster import overview_levels
from webmap.problems import ImportFailed
from webmap.types import LayerKind


@pytest.mark.parametrize(("crs", "bands", "dtype"), [(3067, 1, "uint8"), (3879, 3, "uint16"),
                                                     (3006, 1, "float32"), (4326, 1, "uint8")])
def test_geotiff_becomes_a_valid_cog_with_overviews(tmp_path, workdir, load, crs, bands, dtype):
    src = make_geotiff(tmp_path / "src.tif", crs=crs, size=600, bands=bands, dtype=dtype)
    layer = load(src)
    report = layer.report
    assert report.kind is LayerKind.RASTER
    assert report.feature_count == 0
    assert report.geometry_type == "Raster"
    assert report.source_crs == f"EPSG:{crs}"
    assert layer.raster_path is not None
    assert layer.raster_path.parent == workdir
    valid, errors, _ = cog_validate(layer.raster_path, quiet=True)
    assert valid, errors
    with rasterio.open(layer.raster_path) as cog, rasterio.open(src) as original:
        assert cog.overviews(1) == [2, 4]
        assert cog.block_shapes[0] == (512, 512)
        assert cog.compression.name.upper() == "DEFLATE"
        assert np.array_equal(cog.read(), original.read())
        assert cog.crs.to_epsg() == crs
    minx, miny, maxx, maxy = report.bbox
    assert 24.9 < minx < maxx < 25.2
    assert 60.0 < miny < maxy < 60.2


def test_small_raster_still_gets_an_overview(tmp_path, load):
    layer = load(make_geotiff(tmp_path / "small.tif", size=256))
    with rasterio.open(layer.raster_path) as cog:
        assert cog.overviews(1) == [2]
    assert cog_validate(layer.raster_path, quiet=True)[0]
    assert overview_levels(27, 55) == 1
    assert overview_levels(10_000, 4_000) == 6


def test_raster_without_crs_needs_crs(tmp_path, load):
    src = make_geotiff(tmp_path / "nocrs.tif", crs=None, size=64)
    with pytest.raises(ImportFailed, match="--crs"):
        load(src)
    layer = load(src, crs="EPSG:3067")
    assert layer.report.source_crs == "EPSG:3067"
    with rasterio.open(layer.raster_path) as cog:
        assert cog.crs.to_epsg() == 3067
    assert cog_validate(layer.raster_path, quiet=True)[0]


def test_zipped_geotiff(tmp_path, load):
    src = make_geotiff(tmp_path / "a.tif", size=64)
    layer = load(make_zip(tmp_path / "a.zip", {"rasteri/a.tif": src}))
    assert layer.report.source_crs == "EPSG:3067"


def test_truncated_tiff_is_refused(tmp_path, load):
    src = make_geotiff(tmp_path / "a.tif", size=300)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(src.read_bytes()[:400])
    with pytest.raises(ImportFailed):
        load(cut)

"""PNG tiles from Cloud Optimized GeoTIFFs with rio-tiler; readers are opened once per process."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import MaskFlags
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from .base import TileRequest

_lock = threading.Lock()
_readers: dict[tuple[str, str], Reader] = {}


def _reader(path: Path, grid_id: str, tile: TileRequest) -> Reader:
    key = (str(path), grid_id)
    with _lock:
        reader = _readers.get(key)
        if reader is None:
            reader = Reader(str(path), tms=tile.grid)
            _readers[key] = reader
        return reader


def forget(path: Path) -> None:
    """Close the readers of a file that was replaced or removed."""
    with _lock:
        for key in [k for k in _readers if k[0] == str(path)]:
            _readers.pop(key).close()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=64)
def _display(path: str) -> tuple[tuple[tuple[float, float], ...] | None, float | None]:
    """How to draw a raster: a per-band 2–98 % stretch (None for 8-bit RGB or a palette) and
    the value to treat as no data when the file declares none."""
    with rasterio.open(path) as ds:
        declared = ds.nodata is not None or any(
            MaskFlags.all_valid not in flags for flags in ds.mask_flag_enums)
        # imagery without a mask (e.g. Sentinel-2 L2A) marks missing pixels with 0
        nodata = None if declared or ds.count < 3 else 0.0
        has_palette = ds.count == 1 and _has_colormap(ds)
        if has_palette or (ds.count >= 3 and all(t == "uint8" for t in ds.dtypes)):
            return None, nodata
        level = ds.overviews(1)[-1] if ds.overviews(1) else 1
        data = ds.read(out_shape=(ds.count, max(1, ds.height // level),
                                  max(1, ds.width // level)), masked=True)
    ranges = []
    for band in data:
        values = band.compressed()
        if nodata is not None:
            values = values[values != nodata]
        if values.size == 0:
            ranges.append((0.0, 1.0))
            continue
        low, high = np.percentile(values, [2, 98])
        ranges.append((float(low), float(high if high > low else low + 1)))
    return tuple(ranges), nodata


def _has_colormap(ds: rasterio.DatasetReader) -> bool:
    try:
        return bool(ds.colormap(1))
    except ValueError:  # rasterio: "NULL color table"
        return False


def render_tile(path: Path, tile: TileRequest) -> bytes:
    """A PNG of the tile, or empty bytes where the raster does not reach."""
    reader = _reader(path, str(tile.grid.id), tile)
    count = _band_count(reader)
    if not reader.tile_exists(tile.col, tile.row, tile.zoom):
        return b""
    stretch, nodata = _display(str(path))
    bands = _display_bands(count)
    options: dict[str, Any] = {} if nodata is None else {"nodata": nodata}
    try:
        image = reader.tile(tile.col, tile.row, tile.zoom, indexes=bands, **options)
    except TileOutsideBounds:
        return b""
    if not image.mask.any():
        return b""
    if stretch is not None:
        image = image.rescale(in_range=[stretch[i - 1] for i in bands])
    colormap = getattr(reader, "colormap", None) if count == 1 else None
    return bytes(image.render(img_format="PNG", colormap=colormap, zlevel=1))


def _band_count(reader: Reader) -> int:
    dataset = reader.dataset
    if dataset is None:
        raise RuntimeError("the raster reader has no open dataset")
    return int(dataset.count)


def _display_bands(count: int) -> tuple[int, ...]:
    """RGB(A) for three or more bands, the single band otherwise."""
    return (1, 2, 3) if count >= 3 else (1,)

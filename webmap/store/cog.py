"""PNG tiles from Cloud Optimized GeoTIFFs with rio-tiler; readers are opened once per process."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import rasterio
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
def _rescale_range(path: str) -> tuple[tuple[float, float], ...] | None:
    """Per-band 2–98 % stretch for rasters that are not 8-bit; None for 8-bit data."""
    with rasterio.open(path) as ds:
        if all(dtype == "uint8" for dtype in ds.dtypes):
            return None
        level = ds.overviews(1)[-1] if ds.overviews(1) else 1
        data = ds.read(out_shape=(ds.count, max(1, ds.height // level),
                                  max(1, ds.width // level)), masked=True)
    ranges = []
    for band in data:
        values = band.compressed()
        if values.size == 0:
            ranges.append((0.0, 1.0))
            continue
        low, high = np.percentile(values, [2, 98])
        ranges.append((float(low), float(high if high > low else low + 1)))
    return tuple(ranges)


def render_tile(path: Path, tile: TileRequest) -> bytes:
    """A PNG of the tile, or empty bytes where the raster does not reach."""
    reader = _reader(path, str(tile.grid.id), tile)
    count = _band_count(reader)
    if not reader.tile_exists(tile.col, tile.row, tile.zoom):
        return b""
    try:
        image = reader.tile(tile.col, tile.row, tile.zoom,
                            indexes=_display_bands(count))
    except TileOutsideBounds:
        return b""
    if not image.mask.any():
        return b""
    stretch = _rescale_range(str(path))
    if stretch is not None:
        bands = _display_bands(count)
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

"""Raster layers for both backends: COG files under the data directory, PNG tiles by rio-tiler.

Each version is ``DATA_DIR/layers/{id}/{version}.tif``; the catalogue row names it. Readers
are reused and lent to one thread at a time.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import MaskFlags
from rasterio.warp import transform_bounds
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from ..problems import Problem
from ..tiles.request import TileRequest
from ..types import LayerInfo


class _Readers:
    """Open rio-tiler readers per (file, tile matrix set), each lent to one thread at a time.

    A GDAL dataset handle must not be used by two threads at once, and opening one costs more
    than drawing a tile; so a worker keeps as many readers of a file as it has threads drawing
    it at the same moment, and reuses them. Readers of a replaced file are closed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str], list[Reader]] = {}
        self._generation: dict[str, int] = {}

    @contextmanager
    def lend(self, path: Path, tile: TileRequest) -> Iterator[Reader]:
        """A reader of ``path`` on the tile's grid, for this thread alone until it returns."""
        key = (str(path), str(tile.grid.id))
        with self._lock:
            idle = self._idle.get(key)
            reader = idle.pop() if idle else None
            generation = self._generation.get(key[0], 0)
        if reader is None:
            reader = Reader(key[0], tms=tile.grid)
        keep = False
        try:
            yield reader
        finally:
            with self._lock:
                if self._generation.get(key[0], 0) == generation:
                    self._idle.setdefault(key, []).append(reader)
                    keep = True
            if not keep:
                reader.close()  # type: ignore[no-untyped-call]

    def forget(self, path: Path) -> None:
        """Close the idle readers of ``path``; those lent out close when they come back."""
        with self._lock:
            self._generation[str(path)] = self._generation.get(str(path), 0) + 1
            closing = [reader for key in [k for k in self._idle if k[0] == str(path)]
                       for reader in self._idle.pop(key)]
        for reader in closing:
            reader.close()  # type: ignore[no-untyped-call]

    def idle(self, path: Path) -> int:
        """How many readers of ``path`` wait to be lent."""
        with self._lock:
            return sum(len(v) for k, v in self._idle.items() if k[0] == str(path))


_readers = _Readers()


def forget(path: Path) -> None:
    """Close the readers of a file that was replaced or removed, and forget how to draw it."""
    _readers.forget(path)
    _display.cache_clear()
    _coarsest_resolution.cache_clear()
    _source_geometry.cache_clear()


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


COARSEST_FACTOR = 16
"""A tile whose pixels are this many times coarser than the raster's coarsest overview shows
the raster as a speck of a few pixels: it is answered blank without reading (and without
warping the whole world into the raster's CRS, which takes minutes)."""


@lru_cache(maxsize=256)
def _coarsest_resolution(path: str, grid_crs: str) -> float:
    """The pixel size of the raster's coarsest overview, in units of the grid's CRS (the
    larger of its two axes; infinite when the bounds do not transform)."""
    with rasterio.open(path) as ds:
        factor = max([1, *ds.overviews(1)])
        try:
            left, bottom, right, top = transform_bounds(ds.crs, grid_crs, *ds.bounds)
        except Exception:  # noqa: BLE001 - PROJ errors on odd CRSs: never refuse a tile then
            return float("inf")
        width_px = max(1.0, ds.width / factor)
        height_px = max(1.0, ds.height / factor)
    size = max((right - left) / width_px, (top - bottom) / height_px)
    return size if np.isfinite(size) and size > 0 else float("inf")


def too_coarse(path: Path, tile: TileRequest) -> bool:
    """True when the tile's pixels are far coarser than any the raster has."""
    cell = float(tile.grid.matrix(tile.zoom).cellSize)
    return cell > COARSEST_FACTOR * _coarsest_resolution(str(path), tile.grid.crs.to_wkt())


DEFAULT_MAX_READ_PIXELS = 4_194_304
"""Source pixels one tile may read (``WEBMAP_RASTER_TILE_MAX_READ_PIXELS``): 2048², eight
times a tile's width. A COG with overviews reads at most about four tiles' worth."""


@lru_cache(maxsize=256)
def _source_geometry(path: str) -> tuple[str, tuple[float, float, float, float],
                                         tuple[float, float], tuple[int, ...]]:
    """The raster's CRS, bounds, pixel size and overview factors (1 = full resolution)."""
    with rasterio.open(path) as ds:
        return (ds.crs.to_wkt(), tuple(ds.bounds), (abs(ds.res[0]), abs(ds.res[1])),
                (1, *ds.overviews(1)))


def read_pixels(path: Path, tile: TileRequest) -> float:
    """How many source pixels drawing ``tile`` reads: the tile's footprint on the raster, at
    the overview GDAL reads from (the coarsest that is still at least as fine as the tile)."""
    crs, bounds, (res_x, res_y), factors = _source_geometry(str(path))
    box = tile.grid.xy_bounds(tile.tile)
    try:
        left, bottom, right, top = transform_bounds(tile.grid.crs.to_wkt(), crs, *box)
    except Exception:  # noqa: BLE001 - PROJ errors on odd CRSs: let the reader decide
        return 0.0
    matrix = tile.grid.matrix(tile.zoom)
    decimation = max((right - left) / res_x / matrix.tileWidth,
                     (top - bottom) / res_y / matrix.tileHeight)
    factor = max([f for f in factors if f <= max(decimation, 1.0)] or [1])
    width = max(0.0, min(right, bounds[2]) - max(left, bounds[0])) / res_x / factor
    height = max(0.0, min(top, bounds[3]) - max(bottom, bounds[1])) / res_y / factor
    return float(width * height)


def render_tile(path: Path, tile: TileRequest,
                max_read_pixels: int = DEFAULT_MAX_READ_PIXELS) -> bytes:
    """A PNG of the tile, or empty bytes where the raster does not reach (or would be a
    speck: ``too_coarse``). A tile that would read more than ``max_read_pixels`` source
    pixels (a large raster without overviews for this zoom) is refused with a 422."""
    if too_coarse(path, tile):
        return b""
    needed = read_pixels(path, tile)
    if needed > max_read_pixels:
        raise Problem(
            f"this tile would read {needed:,.0f} source pixels, more than the "
            f"{max_read_pixels:,} a tile may (WEBMAP_RASTER_TILE_MAX_READ_PIXELS): the raster "
            "has no overviews for this zoom. Zoom in, or import the file again with webmap, "
            "which adds overviews", status=422, title="Tile too costly to draw")
    with _readers.lend(path, tile) as reader:
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
        colormap = getattr(reader, "colormap", None) if count == 1 else None
    if not image.mask.any():
        return b""
    if stretch is not None:
        image = image.rescale(in_range=[stretch[i - 1] for i in bands])
    return bytes(image.render(img_format="PNG", colormap=colormap, zlevel=1))


def _band_count(reader: Reader) -> int:
    dataset = reader.dataset
    if dataset is None:
        raise RuntimeError("the raster reader has no open dataset")
    return int(dataset.count)


def _display_bands(count: int) -> tuple[int, ...]:
    """RGB(A) for three or more bands, the single band otherwise."""
    return (1, 2, 3) if count >= 3 else (1,)


class RasterFiles:
    """The COGs of raster layers under ``data_dir/layers``: added, drawn, found, removed."""

    def __init__(self, data_dir: Path, *,
                 max_read_pixels: int = DEFAULT_MAX_READ_PIXELS) -> None:
        self.data_dir = data_dir
        self.max_read_pixels = max_read_pixels
        (data_dir / "layers").mkdir(parents=True, exist_ok=True)

    def adopt(self, layer_id: str, version: str, source: Path) -> str:
        """Move a written COG into place as ``version``; its location for the catalogue."""
        folder = self.data_dir / "layers" / layer_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{version}.tif"
        shutil.move(source, target)
        return str(target.relative_to(self.data_dir))

    def path(self, info: LayerInfo) -> Path:
        """The COG of a raster layer (for exports and QGIS users)."""
        return self.data_dir / info.location

    def tile(self, info: LayerInfo, tile: TileRequest) -> bytes:
        """A PNG tile, or empty bytes where the raster does not reach."""
        return render_tile(self.path(info), tile, self.max_read_pixels)

    def discard(self, location: str) -> None:
        """Forget and delete one version (a replaced one, or one whose commit failed)."""
        path = self.data_dir / location
        forget(path)
        path.unlink(missing_ok=True)

    def remove_layer(self, layer_id: str) -> None:
        """Delete whatever is left of a removed layer's folder."""
        shutil.rmtree(self.data_dir / "layers" / layer_id, ignore_errors=True)

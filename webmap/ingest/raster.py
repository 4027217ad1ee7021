"""GeoTIFF to Cloud Optimized GeoTIFF (rio-cogeo): DEFLATE, 512-px blocks, internal overviews."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from pathlib import Path

import rasterio
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window
from rio_cogeo.cogeo import cog_translate

from ..crs import identify, transformer
from ..problems import ImportFailed
from ..types import BBox, ImportReport, LayerKind, NormalisedLayer
from . import sourcecrs
from .bounded import ImportLimits, too_many_pixels

BLOCK_PX = 512
SMALLEST_OVERVIEW_PX = 256
GDAL_ENV = {"GDAL_PAM_ENABLED": "NO", "GDAL_NUM_THREADS": "ALL_CPUS"}
"""No .aux.xml beside the source; compress overviews on every core."""


def overview_levels(width: int, height: int) -> int:
    """Halvings until the smallest overview fits a 256-px tile; at least one."""
    return max(1, math.ceil(math.log2(max(width, height, 1) / SMALLEST_OVERVIEW_PX)))


def to_cog(path: Path, *, workdir: Path, layer_id: str, title: str, crs: str | None,
           on_progress: Callable[[int, int], None] | None = None,
           limits: ImportLimits | None = None) -> NormalisedLayer:
    """Write a COG into ``workdir`` and report its source CRS and CRS84 bbox; a raster over
    ``limits.max_pixels`` is refused before a pixel is read."""
    target = workdir / f"cog-{uuid.uuid4().hex[:12]}.tif"
    notes: list[str] = []
    with rasterio.Env(**GDAL_ENV), rasterio.open(path) as src:
        too_many_pixels(path.name, src.width, src.height, limits)
        if src.transform.is_identity:
            raise ImportFailed(f"{path.name} is a TIFF without a geotransform (not georeferenced,"
                               " or by control points only); save it as a georeferenced GeoTIFF")
        src.read(1, window=Window(0, src.height - 1, src.width, 1))  # truncated files fail here
        declared = _declared(src.crs)
        if crs is not None:
            code = sourcecrs.parse_code(crs)
            if declared is not None and declared != code:
                notes.append(f"the file declares {declared}; used {code} as asked")
        elif declared is None:
            raise ImportFailed(f"{path.name} has no coordinate reference system; "
                               f"{sourcecrs.ADD_CRS}")
        else:
            code = declared
        single_integer = src.count == 1 and src.dtypes[0].startswith(("uint", "int"))
        profile: dict[str, object] = {"driver": "GTiff", "interleave": "pixel", "tiled": True,
                                      "blockxsize": BLOCK_PX, "blockysize": BLOCK_PX,
                                      "compress": "DEFLATE"}
        if src.dtypes[0] in {"float32", "float64"}:
            profile["predictor"] = 3
        elif not single_integer:
            profile["predictor"] = 2
        canonical = rasterio.crs.CRS.from_user_input(code)
        source = src if src.crs == canonical else WarpedVRT(
            src, src_crs=canonical, crs=canonical, transform=src.transform, width=src.width,
            height=src.height)
        try:
            cog_translate(source, target, profile, overview_level=overview_levels(
                src.width, src.height), overview_resampling="mode" if single_integer
                else "average", in_memory=False, quiet=True, config=GDAL_ENV)
        finally:
            if source is not src:
                source.close()
        bounds = src.bounds
    left, bottom, right, top = bounds
    bbox: BBox = transformer(code, "CRS84").transform_bounds(left, bottom, right, top,
                                                             densify_pts=21)
    if on_progress is not None:
        on_progress(1, 1)
    report = ImportReport(layer_id=layer_id, kind=LayerKind.RASTER, title=title,
                          feature_count=0, source_crs=code, bbox=bbox, geometry_type="Raster",
                          warnings=tuple(notes))
    return NormalisedLayer(report=report, raster_path=target)


def _declared(crs: rasterio.crs.CRS | None) -> str | None:
    """The raster's CRS as ``EPSG:n`` (matched by parameters where the file names no code)."""
    if crs is None or not crs.to_wkt():
        return None
    try:
        return identify(CRS.from_wkt(crs.to_wkt()))
    except CRSError as exc:
        raise ImportFailed(f"the raster's coordinate reference system matches no EPSG code; "
                           f"{sourcecrs.ADD_CRS}") from exc

"""Mapbox Vector Tile encoding for backends that do not encode tiles themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import numpy.typing as npt
import shapely

from . import crs
from .grids import GRID_EPSG
from .store.base import TileRequest
from .types import BBox

EXTENT = 4096
"""Tile coordinate units per tile side (the MVT default)."""
BUFFER = 64
"""Units of geometry kept outside each tile edge so strokes join across tiles."""
MIN_FEATURE_UNITS = 4.0
"""Lines and polygons whose bbox is smaller than this on both sides (about half a pixel of a
512-px tile) are left out: at low zoom they would be invisible and swell the tile."""
MAX_FEATURES = 10_000
"""At most this many features per tile; beyond it the smallest are left out (points: an even
spread), so low-zoom tiles of dense layers stay small and fast."""
MAX_TILE_BYTES = 500_000
"""A tile over this size is encoded again with fewer (the largest) features."""
SIMPLIFY_UNITS = 1.0
"""Douglas-Peucker tolerance in tile units: below the 1-unit quantisation of the encoding."""

_ENCODE_OPTIONS = {"quantize_bounds": None, "extents": EXTENT, "y_coord_down": True,
                   "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_ignore}


def tile_bounds(tile: TileRequest) -> BBox:
    """The tile's bounds in its grid's CRS, easting first."""
    b = tile.grid.xy_bounds(tile.tile)
    return (b.left, b.bottom, b.right, b.top)


def query_bbox_crs84(tile: TileRequest) -> BBox:
    """A CRS84 bbox covering the tile and its buffer: what to ask the index for."""
    minx, miny, maxx, maxy = tile_bounds(tile)
    pad_x = (maxx - minx) * BUFFER / EXTENT
    pad_y = (maxy - miny) * BUFFER / EXTENT
    return crs.transformer(GRID_EPSG[tile.grid.id], "CRS84").transform_bounds(
        minx - pad_x, miny - pad_y, maxx + pad_x, maxy + pad_y, densify_pts=5)


def to_tile_units(geoms: npt.NDArray[np.object_], tile: TileRequest
                  ) -> npt.NDArray[np.object_]:
    """CRS84 geometries in the tile's units: 0..4096, y growing downwards."""
    minx, miny, maxx, maxy = tile_bounds(tile)
    sx = EXTENT / (maxx - minx)
    sy = EXTENT / (maxy - miny)
    tr = crs.transformer("CRS84", GRID_EPSG[tile.grid.id])

    def project(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack(((np.asarray(x) - minx) * sx, (maxy - np.asarray(y)) * sy))

    return shapely.transform(geoms, project)


def encode_tile(layer_name: str, ids: Sequence[int], geoms: npt.NDArray[np.object_],
                properties: Sequence[dict[str, Any]], tile: TileRequest) -> bytes:
    """Clip, simplify and encode CRS84 features as one MVT layer; empty bytes if none remain."""
    if len(geoms) == 0:
        return b""
    local = to_tile_units(geoms, tile)
    local = shapely.clip_by_rect(local, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    bounds = shapely.bounds(local)
    size = np.fmax(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    type_id = shapely.get_type_id(local)
    is_point = (type_id == 0) | (type_id == 4)
    keep = ~shapely.is_empty(local) & (is_point | (size >= MIN_FEATURE_UNITS))
    index = np.flatnonzero(keep)
    if index.size == 0:
        return b""
    # largest first; equal sizes (points) in a fixed pseudo-random order, for an even spread
    order = np.lexsort(((np.asarray(ids)[index] * 2654435761) % 4294967296, -size[index]))
    index = index[order[:MAX_FEATURES]]
    local = shapely.simplify(local[index], SIMPLIFY_UNITS, preserve_topology=True)
    while True:
        data = _encode(layer_name, ids, local, properties, index)
        if len(data) <= MAX_TILE_BYTES or index.size < 2:
            return data
        share = MAX_TILE_BYTES / len(data) * 0.9
        count = max(1, int(index.size * share))
        index, local = index[:count], local[:count]


def _encode(layer_name: str, ids: Sequence[int], local: npt.NDArray[np.object_],
            properties: Sequence[dict[str, Any]], index: npt.NDArray[np.intp]) -> bytes:
    features = [
        {"geometry": geom, "id": ids[i],
         "properties": {k: v for k, v in properties[i].items() if v is not None}}
        for geom, i in zip(local, index.tolist(), strict=True)
    ]
    return bytes(mapbox_vector_tile.encode([{"name": layer_name, "features": features}],
                                           default_options=_ENCODE_OPTIONS))

"""Mapbox Vector Tile encoding for backends that do not encode tiles themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from .. import crs
from . import mvtencode
from .policy import (
    BUFFER,
    BYTES_PER_FEATURE,
    BYTES_PER_VALUE,
    BYTES_PER_VERTEX,
    EXTENT,
    MAX_FEATURES,
    MAX_TILE_BYTES,
    MIN_FEATURE_UNITS,
    SIMPLIFY_MIN_VERTICES,
    SIMPLIFY_UNITS,
    refit_count,
    spread_key,
)
from .request import TileRequest, tile_bounds


def to_tile_units(geoms: npt.NDArray[np.object_], tile: TileRequest
                  ) -> npt.NDArray[np.object_]:
    """CRS84 geometries in the tile's units: 0..4096, y growing downwards."""
    minx, miny, maxx, maxy = tile_bounds(tile)
    sx = EXTENT / (maxx - minx)
    sy = EXTENT / (maxy - miny)
    tr = crs.transformer("CRS84", tile.epsg)

    def project(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack(((np.asarray(x) - minx) * sx, (maxy - np.asarray(y)) * sy))

    out: npt.NDArray[np.object_] = shapely.transform(geoms, project)
    return out


def encode_tile(layer_name: str, ids: npt.NDArray[np.int64], geoms: npt.NDArray[np.object_],
                columns: Mapping[str, Sequence[Any]], tile: TileRequest) -> bytes:
    """Clip, simplify and encode CRS84 features as one MVT layer; empty bytes if none remain.

    ``columns`` holds one value per feature for each attribute (None for null).
    """
    if len(geoms) == 0:
        return b""
    local = to_tile_units(geoms, tile)
    bounds = shapely.bounds(local)
    low, high = -BUFFER, EXTENT + BUFFER
    crossing = ~((bounds[:, 0] >= low) & (bounds[:, 1] >= low) & (bounds[:, 2] <= high)
                 & (bounds[:, 3] <= high))
    if crossing.any():  # only features reaching past the buffer need clipping
        local[crossing] = shapely.clip_by_rect(local[crossing], low, low, high, high)
        bounds[crossing] = shapely.bounds(local[crossing])
    size = np.fmax(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    type_id = shapely.get_type_id(local)
    is_point = (type_id == 0) | (type_id == 4)
    keep = ~shapely.is_empty(local) & (is_point | (size >= MIN_FEATURE_UNITS))
    index = np.flatnonzero(keep)
    if index.size == 0:
        return b""
    # largest first; equal sizes (points) in a fixed pseudo-random order, for an even spread
    order = np.lexsort((spread_key(ids[index]), -size[index]))
    index = index[order[:MAX_FEATURES]]  # in priority order: largest first
    coordinates = shapely.get_num_coordinates(local[index])
    # Predict the encoded size and keep what fits, so a dense tile is encoded once; one that
    # still comes out too big is cut again below.
    per_feature = (BYTES_PER_VERTEX * coordinates + BYTES_PER_FEATURE
                   + _attribute_bytes(columns, index))
    fits = int(np.searchsorted(np.cumsum(per_feature), MAX_TILE_BYTES, side="right"))
    index = np.sort(index[:max(1, fits)])
    local = local[index]
    detailed = shapely.get_num_coordinates(local) > SIMPLIFY_MIN_VERTICES
    if detailed.any():
        local[detailed] = shapely.simplify(local[detailed], SIMPLIFY_UNITS,
                                           preserve_topology=False)
    while True:
        data = mvtencode.encode(layer_name, ids[index], local,
                                {k: _take(v, index) for k, v in columns.items()},
                                extent=EXTENT)
        if len(data) <= MAX_TILE_BYTES or index.size < 2:
            return data
        keep_count = refit_count(index.size, len(data))
        largest = np.sort(np.argsort(-size[index], kind="stable")[:keep_count])
        index, local = index[largest], local[largest]


def _attribute_bytes(columns: Mapping[str, Sequence[Any]], index: npt.NDArray[np.intp],
                     *, sample: int = 200) -> float:
    """Average encoded attribute bytes per feature, from a sample of the features."""
    picked = index[:sample].tolist()
    total = sum(len(str(values[i])) + BYTES_PER_VALUE for values in columns.values() for i in picked
                if values[i] is not None)
    return total / max(1, len(picked))


def _take(values: Sequence[Any], index: npt.NDArray[np.intp]) -> list[Any]:
    return [values[i] for i in index.tolist()]

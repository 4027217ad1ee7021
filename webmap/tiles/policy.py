"""The generalisation policy of vector tiles: one set of numbers for every renderer.

The numpy encoder (``encode.py``) works in tile units, the PostGIS statement
(``store/pgtiles.py``) in the grid's ground units; both take their numbers from here, so a
tile has the same features, kept in the same order, whichever backend draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..types import BBox

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
SIMPLIFY_MIN_VERTICES = 12
"""Simpler shapes (most buildings) are left as they are: rounding to units does the rest."""
BYTES_PER_VERTEX = 2
BYTES_PER_FEATURE = 12
BYTES_PER_VALUE = 2
"""The predicted encoded size of a feature: per vertex, per feature of framing, and per
attribute value on top of its text length (within ~15 % of the real size on the benchmark
layer), so a dense tile is cut to the byte budget before it is encoded."""
SPREAD_MULTIPLIER = 2654435761
SPREAD_MODULUS = 2**32
"""Features of equal size (points) are kept in the order of ``fid * MULTIPLIER mod MODULUS``:
a fixed pseudo-random order, so a thinned tile keeps an even spread."""
REFIT_MARGIN = 0.9
"""A tile that still comes out over budget is redone with this share of the features that
the budget would hold at the size measured."""


@dataclass(frozen=True, kw_only=True)
class Generalisation:
    """The policy for one tile in its grid's ground units (what a SQL renderer binds)."""

    bounds: BBox
    """The tile in its grid's CRS, easting first."""
    unit: float
    """Ground length of one tile unit."""
    pad: float
    """The buffer in ground units."""
    min_size: float
    """Smallest bbox side of a kept line or polygon."""
    simplify_tolerance: float

    @property
    def buffered(self) -> BBox:
        """The tile grown by its buffer."""
        minx, miny, maxx, maxy = self.bounds
        return (minx - self.pad, miny - self.pad, maxx + self.pad, maxy + self.pad)


def generalisation(bounds: BBox) -> Generalisation:
    """The policy's numbers for a tile with these bounds."""
    unit = (bounds[2] - bounds[0]) / EXTENT
    return Generalisation(bounds=bounds, unit=unit, pad=BUFFER * unit,
                          min_size=MIN_FEATURE_UNITS * unit,
                          simplify_tolerance=SIMPLIFY_UNITS * unit)


def spread_key(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The tie-break order of features of equal size."""
    key: npt.NDArray[np.int64] = (ids * SPREAD_MULTIPLIER) % SPREAD_MODULUS
    return key


def refit_count(kept: int, encoded_bytes: int) -> int:
    """How many of ``kept`` features to try next when they encoded to ``encoded_bytes``."""
    return max(1, int(kept * MAX_TILE_BYTES / encoded_bytes * REFIT_MARGIN))

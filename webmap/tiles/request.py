"""One tile of a tile matrix set, checked against its grid, and its bounds."""

from __future__ import annotations

from dataclasses import dataclass

import morecantile

from .. import crs
from ..problems import NotFound
from ..types import BBox
from .grids import GRID_EPSG, grid
from .policy import BUFFER, EXTENT


@dataclass(frozen=True)
class TileRequest:
    """One tile of a tile matrix set; row and column as in the OGC API path."""

    grid: morecantile.TileMatrixSet
    zoom: int
    row: int
    col: int

    @property
    def tile(self) -> morecantile.Tile:
        """The morecantile tile (x = column, y = row)."""
        return morecantile.Tile(self.col, self.row, self.zoom)

    @property
    def epsg(self) -> str:
        """The grid's CRS as ``EPSG:n``."""
        return GRID_EPSG[str(self.grid.id)]


def tile_request(grid_id: str, zoom: int, row: int, col: int) -> TileRequest:
    """The tile at this path; ``NotFound`` when the grid, level, row or column does not exist."""
    tms = grid(grid_id)
    if not tms.minzoom <= zoom <= tms.maxzoom:
        raise NotFound(f"tileMatrix {zoom} is outside {grid_id}'s "
                       f"{tms.minzoom}..{tms.maxzoom}")
    matrix = tms.matrix(zoom)
    if row >= matrix.matrixHeight or col >= matrix.matrixWidth:
        raise NotFound(f"tile {zoom}/{row}/{col} is outside {grid_id}: level {zoom} has "
                       f"{matrix.matrixHeight} rows and {matrix.matrixWidth} columns")
    return TileRequest(grid=tms, zoom=zoom, row=row, col=col)


def tile_bounds(tile: TileRequest) -> BBox:
    """The tile's bounds in its grid's CRS, easting first."""
    b = tile.grid.xy_bounds(tile.tile)
    return (b.left, b.bottom, b.right, b.top)


def query_bbox_crs84(tile: TileRequest) -> BBox:
    """A CRS84 bbox covering the tile and its buffer: what to ask the index for."""
    minx, miny, maxx, maxy = tile_bounds(tile)
    pad_x = (maxx - minx) * BUFFER / EXTENT
    pad_y = (maxy - miny) * BUFFER / EXTENT
    return crs.transformer(tile.epsg, "CRS84").transform_bounds(
        minx - pad_x, miny - pad_y, maxx + pad_x, maxy + pad_y, densify_pts=5)

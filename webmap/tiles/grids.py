"""Tile matrix sets: WebMercatorQuad and the Nordic national grids, built once at import."""

from __future__ import annotations

import morecantile
from pyproj import CRS

from ..problems import NotFound

ETRS_TM35FIN = morecantile.TileMatrixSet.custom(
    # JHS 180: origin (-548576, 8388608), 8192 m per pixel at level 0, halving per level.
    [-548576.0, 6291456.0, 1548576.0, 8388608.0],
    CRS.from_epsg(3067),
    id="ETRS-TM35FIN",
    title="ETRS-TM35FIN (EPSG:3067), JHS 180 tile matrix set",
    minzoom=0,
    maxzoom=15,
)

SWEREF99_TM = morecantile.TileMatrixSet.custom(
    # Lantmäteriet's SWEREF 99 TM grid: origin (-1200000, 8500000), 4096 m per pixel at 0.
    [-1200000.0, 4305696.0, 2994304.0, 8500000.0],
    CRS.from_epsg(3006),
    matrix_scale=[4, 4],
    id="SWEREF99TM",
    title="SWEREF 99 TM (EPSG:3006)",
    minzoom=0,
    maxzoom=15,
)

GRIDS: dict[str, morecantile.TileMatrixSet] = {
    "WebMercatorQuad": morecantile.tms.get("WebMercatorQuad"),
    ETRS_TM35FIN.id: ETRS_TM35FIN,
    SWEREF99_TM.id: SWEREF99_TM,
}
"""Every grid webmap serves, by id; the objects are shared, never copied per request."""

GRID_EPSG: dict[str, str] = {"WebMercatorQuad": "EPSG:3857", ETRS_TM35FIN.id: "EPSG:3067",
                             SWEREF99_TM.id: "EPSG:3006"}
"""Each grid's CRS as ``EPSG:n``."""


def grid(grid_id: str) -> morecantile.TileMatrixSet:
    """The grid with this id; ``NotFound`` names the ones that exist."""
    try:
        return GRIDS[grid_id]
    except KeyError:
        raise NotFound(f"there is no tile matrix set {grid_id!r}; "
                       f"use one of {', '.join(GRIDS)}") from None

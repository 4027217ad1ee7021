"""The storage interface every backend implements (GeoPackage files now, PostGIS beside it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import morecantile

from ..types import ImportReport, ItemPage, ItemQuery, LayerInfo, NormalisedLayer


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


Importer = Callable[[Path], NormalisedLayer]
"""Turns a scratch folder into a normalised layer; the store calls it inside its lock."""


class Store(Protocol):
    """What the APIs need from storage. Backends raise ``problems`` exceptions, never raw ones."""

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when storage cannot be reached (``/readyz``)."""

    def layers(self) -> list[LayerInfo]:
        """Every layer, ordered by id."""

    def layer(self, layer_id: str) -> LayerInfo:
        """One layer; raises ``LayerNotFound``."""

    def items(self, layer_id: str, query: ItemQuery) -> ItemPage:
        """A page of features in fid order, filtered by bbox, properties and ``query.filter``
        (validated CQL2 nodes: values bound as parameters, exact spatial tests, exact
        ``number_matched``)."""

    def item(self, layer_id: str, feature_id: int) -> ItemPage:
        """One feature as a page of one; raises ``FeatureNotFound``."""

    def vector_tile(self, layer_id: str, tile: TileRequest) -> bytes:
        """A Mapbox Vector Tile (empty bytes for an empty area)."""

    def raster_tile(self, layer_id: str, tile: TileRequest) -> bytes:
        """A PNG tile of a raster layer (empty bytes outside the raster)."""

    def import_layer(self, layer_id: str, importer: Importer, *, attribution: str = "",
                     description: str = "") -> ImportReport:
        """Run ``importer`` in a scratch folder and swap its result in atomically.

        Raises ``Conflict`` when another import of the same id is running; on any failure the
        previous version keeps serving and nothing new is left behind.
        """

    def remove_layer(self, layer_id: str) -> None:
        """Delete a layer; raises ``LayerNotFound``."""

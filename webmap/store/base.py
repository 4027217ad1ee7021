"""The storage interface every layer backend implements (GeoPackage files, PostGIS).

The API resolves a layer once (``layer``) and hands its ``LayerInfo`` to every other call, so
a request reads the catalogue once. A backend that finds the version in ``info`` replaced
meanwhile reads the current one instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..tiles.request import TileRequest
from ..types import ImportReport, ItemPage, ItemQuery, LayerInfo, NormalisedLayer

Importer = Callable[[Path], NormalisedLayer]
"""Turns a scratch folder into a normalised layer; the store calls it inside its lock."""


class Store(Protocol):
    """What the APIs need from storage. Backends raise ``problems`` exceptions, never raw ones."""

    backend: str
    """``geopackage`` or ``postgis``."""

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when storage cannot be reached (``/readyz``)."""

    def layers(self) -> list[LayerInfo]:
        """Every layer, ordered by id."""

    def layer(self, layer_id: str) -> LayerInfo:
        """One layer; raises ``LayerNotFound``."""

    def items(self, info: LayerInfo, query: ItemQuery) -> ItemPage:
        """A page of features in fid order, filtered by bbox, properties and ``query.filter``
        (validated CQL2 nodes: values bound as parameters, exact spatial tests, exact
        ``number_matched``)."""

    def item(self, info: LayerInfo, feature_id: int) -> ItemPage:
        """One feature as a page of one; raises ``FeatureNotFound``."""

    def vector_tile(self, info: LayerInfo, tile: TileRequest) -> bytes:
        """A Mapbox Vector Tile (empty bytes for an empty area)."""

    def raster_tile(self, info: LayerInfo, tile: TileRequest) -> bytes:
        """A PNG tile of a raster layer (empty bytes outside the raster)."""

    def raster_path(self, info: LayerInfo) -> Path:
        """The Cloud Optimized GeoTIFF of a raster layer (exports, backups, QGIS)."""

    def import_layer(self, layer_id: str, importer: Importer, *, attribution: str = "",
                     description: str = "") -> ImportReport:
        """Run ``importer`` in a scratch folder and swap its result in atomically.

        Raises ``Conflict`` when another import of the same id is running; on any failure the
        previous version keeps serving and nothing new is left behind.
        """

    def remove_layer(self, layer_id: str) -> None:
        """Delete a layer; raises ``LayerNotFound``."""

    def close(self) -> None:
        """Release what the store holds open (the database is closed by its owner)."""

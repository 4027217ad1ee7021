"""Comment exports: GeoJSON, CSV that Excel opens as it should, and GeoPackage for QGIS."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pyogrio
import shapely

from ..types import MediaType
from .service import Comment

FORMATS: dict[str, str] = {
    "geojson": str(MediaType.GEOJSON),
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
}
"""Export formats and their media types; the format is also the file extension."""
COLUMNS = ("id", "created", "status", "language", "text", "name", "email",
           "feature_collection", "feature_id")
"""Attribute columns of the CSV and GeoPackage exports (the CSV adds ``geometry`` as WKT)."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Spreadsheets run a cell starting with one of these as a formula."""
BOM = "\ufeff"
GPKG_LAYER = "comments"


def feature_collection(comments: Sequence[Comment], *, personal: bool) -> bytes:
    """A GeoJSON FeatureCollection; ``personal`` adds status, names and e-mails (staff only)."""
    features = [{
        "type": "Feature", "id": c.id,
        "geometry": orjson.Fragment(c.geometry) if c.geometry else None,
        "properties": c.staff_properties() if personal else c.public_properties(),
    } for c in comments]
    return orjson.dumps({"type": "FeatureCollection", "features": features,
                         "numberReturned": len(features)})


def escape_cell(value: str) -> str:
    """Neutralise formula injection: a leading ``'`` makes the cell plain text."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _wkt(comments: Sequence[Comment]) -> list[str]:
    geometries = shapely.from_geojson(np.array([c.geometry for c in comments], dtype=object))
    return [w or "" for w in shapely.to_wkt(geometries, rounding_precision=-1, trim=True)]


def csv_bytes(comments: Sequence[Comment]) -> bytes:
    """UTF-8 with a byte-order mark (so Excel shows å ä ö), every text cell escaped."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, "geometry"])
    for comment, wkt in zip(comments, _wkt(comments) if comments else [], strict=True):
        row: list[Any] = [getattr(comment, column) or "" for column in COLUMNS]
        writer.writerow([escape_cell(str(cell)) for cell in row] + [wkt])
    return (BOM + out.getvalue()).encode("utf-8")


def write_gpkg(comments: Sequence[Comment], path: Path, *,
               columns: Sequence[str] = COLUMNS) -> None:
    """One layer ``comments`` in EPSG:4326 (mixed points, lines, areas; plan-feature comments
    without geometry keep their feature reference); a backup adds ``idempotency_key``."""
    geometries = (shapely.from_geojson(np.array([c.geometry for c in comments], dtype=object))
                  if comments else np.array([], dtype=object))
    values: dict[str, Any] = {column: [getattr(c, column) for c in comments]
                              for column in columns}
    values["created"] = [datetime.fromisoformat(c.created) for c in comments]
    frame = gpd.GeoDataFrame(values, geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"))
    pyogrio.write_dataframe(frame, path, layer=GPKG_LAYER, driver="GPKG",
                            geometry_type="Unknown")

"""Comment exports: GeoJSON, CSV that Excel opens as it should, GeoPackage for QGIS, and a zip
of the GeoJSON, the CSV and every photo (``photos/<comment id>-<n>.jpg``, the names the
``photos`` column of the CSV and GeoPackage and the GeoJSON's ``photos[].file`` give).

A comment on a plan feature is exported at the feature as the resident saw it (the snapshot
stored with the comment), so every comment has a place in QGIS, even after the plan layer was
replaced or removed.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pyogrio
import shapely

from ..types import MediaType
from .service import PLAN_CODE, RESPONSE_COLUMNS, SNAPSHOT_COLUMNS, Comment

FORMATS: dict[str, str] = {
    "geojson": str(MediaType.GEOJSON),
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
    "zip": "application/zip",
}
"""Export formats and their media types; the format is also the file extension."""
COLUMNS = ("id", "created", "status", "language", "text", "name", "email",
           "feature_collection", "feature_id", "feature_label", "feature_key",
           "feature_code", "themes", "response", "changed_plan", "published_response", "notify",
           "photos", "photo_descriptions")
"""Attribute columns of the CSV and GeoPackage exports (the CSV adds ``geometry`` as WKT)."""
BACKUP_COLUMNS = (*COLUMNS[:9], "idempotency_key", *SNAPSHOT_COLUMNS, *RESPONSE_COLUMNS)
"""A backup's columns: every stored value, so a restore gives back the comment as it was."""
DELIMITERS = {",": ",", ";": ";", "comma": ",", "semicolon": ";"}
"""CSV delimiters by name; Finnish and Swedish Excel expect a semicolon."""
SEMICOLON_LANGUAGES = frozenset({"fi", "sv", "de", "da", "nb", "no", "nn", "et"})
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Spreadsheets run a cell starting with one of these as a formula."""
BOM = "\ufeff"
GPKG_LAYER = "comments"


def default_delimiter(language: str | None) -> str:
    """``;`` for languages whose spreadsheets use a decimal comma, else ``,``."""
    return ";" if (language or "").split("-")[0].lower() in SEMICOLON_LANGUAGES else ","


def feature_collection(comments: Sequence[Comment], *, personal: bool, base: str = "") -> bytes:
    """A GeoJSON FeatureCollection; ``personal`` adds status, names and e-mails (staff only).
    A comment on a plan feature has the feature's geometry as it was. ``base`` (the service's
    address) goes before the photos' paths."""
    features = [{
        "type": "Feature", "id": c.id,
        "geometry": orjson.Fragment(c.place) if c.place else None,
        "properties": (c.staff_properties(base=base) if personal
                       else c.public_properties(base=base)),
    } for c in comments]
    return orjson.dumps({"type": "FeatureCollection", "features": features,
                         "numberReturned": len(features)})


def export_value(comment: Comment, column: str) -> Any:
    """A column's value as staff read it: themes as ``a, b``; ``feature_code`` the plan
    area's letter code (``AK-1``) as the resident saw it."""
    if column == "themes":
        return comment.themes_text
    if column == "feature_code":
        code = comment.attributes().get(PLAN_CODE)
        return None if code is None else str(code)
    if column == "photos":
        return comment.photo_files
    if column == "photo_descriptions":
        return "\n".join(p.alt for p in comment.photos)
    return getattr(comment, column)


def escape_cell(value: str) -> str:
    """Neutralise formula injection: a leading ``'`` makes the cell plain text."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _shapes(texts: Sequence[str | None]) -> Any:
    if not texts:
        return np.array([], dtype=object)
    return shapely.from_geojson(np.array(texts, dtype=object))


def _wkt(comments: Sequence[Comment]) -> list[str]:
    return [w or "" for w in shapely.to_wkt(_shapes([c.place for c in comments]),
                                            rounding_precision=-1, trim=True)]


def csv_bytes(comments: Sequence[Comment], *, delimiter: str = ",") -> bytes:
    """UTF-8 with a byte-order mark (so Excel shows å ä ö), every text cell escaped;
    ``delimiter`` ``;`` for Finnish and Swedish Excel."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([*COLUMNS, "geometry"])
    for comment, wkt in zip(comments, _wkt(comments) if comments else [], strict=True):
        row: list[Any] = [export_value(comment, column) for column in COLUMNS]
        writer.writerow([escape_cell(_cell(cell)) for cell in row] + [wkt])
    return (BOM + out.getvalue()).encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def write_gpkg(comments: Sequence[Comment], path: Path, *,
               columns: Sequence[str] = COLUMNS, own_geometry: bool = False) -> None:
    """One layer ``comments`` in EPSG:4326 (mixed points, lines, areas): a comment on a plan
    feature lies at the feature. A backup (``own_geometry``) keeps only the resident's own
    geometry there; the feature's is in ``feature_geometry``."""
    places = [c.geometry if own_geometry else c.place for c in comments]
    read = getattr if own_geometry else export_value
    values: dict[str, Any] = {column: [read(c, column) for c in comments]
                              for column in columns}
    values["created"] = [datetime.fromisoformat(c.created) for c in comments]
    frame = gpd.GeoDataFrame(values, geometry=gpd.GeoSeries(_shapes(places), crs="EPSG:4326"))
    types = {str(t) for t in frame.geom_type.dropna()}
    pyogrio.write_dataframe(frame, path, layer=GPKG_LAYER, driver="GPKG",
                            geometry_type=_one_type(types))


PHOTO_FOLDER = "photos"


def write_zip(comments: Sequence[Comment], path: Path, *, name: str,
              photo: Callable[[str, int], bytes], delimiter: str = ",") -> int:
    """``<name>.geojson``, ``<name>.csv`` and ``photos/<comment id>-<n>.jpg`` for every photo
    (read one at a time through ``photo(comment_id, n)``); returns how many photos."""
    count = 0
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.geojson", feature_collection(comments, personal=True),
                         compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(f"{name}.csv", csv_bytes(comments, delimiter=delimiter),
                         compress_type=zipfile.ZIP_DEFLATED)
        for comment in comments:
            for info in comment.photos:
                archive.writestr(f"{PHOTO_FOLDER}/{info.file_name(comment.id)}",
                                 photo(comment.id, info.n), compress_type=zipfile.ZIP_STORED)
                count += 1
    return count


def _one_type(types: set[str]) -> str:
    """The GeoPackage geometry type: the one kind when all comments share it (QGIS styles
    it at once), else ``Unknown`` (GEOMETRY)."""
    if len(types) == 1:
        return types.pop()
    families = {t.removeprefix("Multi") for t in types}
    if len(families) == 1 and types:
        return "Multi" + families.pop()
    return "Unknown"

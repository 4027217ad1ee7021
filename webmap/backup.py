"""Backups: export every layer to a folder (GeoPackage, COG, manifest) and import it back.

The folder is also the way from one backend to another (the embedded GeoPackage store to
PostGIS): ``export_all`` reads only through the Store protocol, ``import_all`` imports through
the same service as ``webmap layers import``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from .layers import import_file
from .problems import Problem
from .store.base import Store
from .types import Field, ImportReport, ItemQuery, LayerInfo, LayerKind

FORMAT = "webmap-export"
VERSION = 1
MANIFEST = "manifest.json"
PAGE_SIZE = 10_000
"""Features read from the store (and appended to the GeoPackage) at a time."""
GPKG_GEOMETRY_TYPES = {"Geometry": "Unknown"}
"""Catalogue geometry types that GDAL names differently; the others are the same."""

Echo = Callable[[str], None]


class BackupFailed(Problem):
    """An export or import of a backup folder cannot go ahead."""

    status = 400
    title = "Backup failed"


def export_all(store: Store, data_dir: Path, target: Path, *,
               on_layer: Echo | None = None) -> dict[str, Any]:
    """Write every layer of ``store`` and a manifest into the empty folder ``target``.

    Vectors become ``layers/<id>.gpkg`` in EPSG:4326 (read page by page in fid order, so fids
    and attribute types survive); rasters are the stored COG copied to ``layers/<id>.tif``
    (``data_dir`` is where the store keeps them). Returns the manifest; ``on_layer`` gets a
    one-line summary per layer.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise BackupFailed(f"{target} is a file, not a folder; give an empty or new folder")
    if target.is_dir() and any(target.iterdir()):
        raise BackupFailed(f"{target} is not empty; export into an empty or new folder")
    (target / "layers").mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    for info in store.layers():
        if info.kind is LayerKind.RASTER:
            file_name = f"{info.id}.tif"
            _copy_raster(data_dir, info, target / "layers" / file_name)
            summary = f"exported {info.id}: raster from {info.source_crs} to layers/{file_name}"
        else:
            file_name = f"{info.id}.gpkg"
            written = _write_vector(store, info, target / "layers" / file_name)
            summary = (f"exported {info.id}: vector, {written} features from "
                       f"{info.source_crs} to layers/{file_name}")
        entries.append({"id": info.id, "kind": str(info.kind), "title": info.title,
                        "description": info.description, "attribution": info.attribution,
                        "source_crs": info.source_crs, "feature_count": info.feature_count,
                        "geometry_type": info.geometry_type, "file": f"layers/{file_name}"})
        if on_layer is not None:
            on_layer(summary)
    manifest: dict[str, Any] = {
        "format": FORMAT, "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "layers": entries, "maps": [], "comments": []}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                   encoding="utf-8")
    return manifest


def import_all(store: Store, source: Path, *,
               on_layer: Echo | None = None) -> list[ImportReport]:
    """Import every layer listed in ``source``'s manifest into ``store`` (replacing layers
    with the same id), keeping titles, descriptions, attributions and source CRSs."""
    manifest = read_manifest(Path(source))
    reports: list[ImportReport] = []
    for entry in manifest["layers"]:
        path = _layer_file(Path(source), entry)
        report = import_file(store, path, entry["id"], title=entry.get("title") or entry["id"],
                             attribution=entry.get("attribution") or "",
                             description=entry.get("description") or "",
                             source_crs=entry.get("source_crs") or None)
        reports.append(report)
        if on_layer is not None:
            expected = entry.get("feature_count")
            mismatch = (f" (the manifest says {expected})" if report.kind is LayerKind.VECTOR
                        and expected is not None and expected != report.feature_count else "")
            on_layer(f"imported {report.layer_id}: {report.kind}, {report.feature_count} "
                     f"features{mismatch} from {report.source_crs}")
    return reports


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of an export folder, checked for format, version and layer entries."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupFailed(f"{source} has no {MANIFEST}; give a folder written by "
                           "webmap export-all")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeError, json.JSONDecodeError) as exc:
        raise BackupFailed(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupFailed(f"{path} is not a webmap export manifest")
    if manifest.get("version") != VERSION:
        raise BackupFailed(f"{path} is export format version {manifest.get('version')!r}; "
                           f"this webmap reads version {VERSION}")
    layers = manifest.get("layers")
    if not isinstance(layers, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) for e in layers):
        raise BackupFailed(f"{path} has no valid list of layers")
    return manifest


def _layer_file(source: Path, entry: dict[str, Any]) -> Path:
    """The file of a manifest entry; only files under ``layers/`` of the folder."""
    name = str(entry.get("file", ""))
    path = source / name
    if not name.startswith("layers/") or Path(name).name != name[len("layers/"):]:
        raise BackupFailed(f"layer {entry['id']!r}: file {name!r} is not under layers/")
    if not path.is_file():
        raise BackupFailed(f"layer {entry['id']!r}: {name} is missing from {source}")
    return path


def _copy_raster(data_dir: Path, info: LayerInfo, target: Path) -> None:
    """Copy the stored COG (both backends keep it as ``layers/<id>/<version>.tif``)."""
    stored = Path(data_dir) / "layers" / info.id / f"{info.version}.tif"
    if not stored.is_file():
        raise BackupFailed(f"the raster of layer {info.id!r} is missing from the data "
                           f"folder ({stored.relative_to(data_dir)})")
    shutil.copyfile(stored, target)


def _write_vector(store: Store, info: LayerInfo, target: Path) -> int:
    """Append the layer's features to a GeoPackage page by page; returns how many."""
    after: int | None = None
    written = 0
    geometry_type = GPKG_GEOMETRY_TYPES.get(info.geometry_type, info.geometry_type)
    while True:
        page = store.items(info.id, ItemQuery(limit=PAGE_SIZE, after=after, count=False))
        if page.ids or written == 0:
            frame = _frame(page.geometries, page.properties, info.fields)
            pyogrio.write_dataframe(frame, target, layer=info.id, driver="GPKG",
                                    use_arrow=True, promote_to_multi=False,
                                    geometry_type=geometry_type, append=written > 0,
                                    layer_options={"SPATIAL_INDEX": "YES"})
            written += len(page.ids)
        if page.next_after is None:
            return written
        after = page.next_after


def _frame(geometries: Any, properties: list[dict[str, Any]],
           fields: tuple[Field, ...]) -> gpd.GeoDataFrame:
    """One page as a GeoDataFrame with a column per field, typed as the catalogue says."""
    columns = {f.name: _column([p.get(f.name) for p in properties], f.type) for f in fields}
    geometry = gpd.GeoSeries(list(geometries), crs="EPSG:4326")
    return gpd.GeoDataFrame(columns, geometry=geometry, index=pd.RangeIndex(len(properties)))


def _column(values: list[Any], kind: str) -> pd.Series:
    """Values of one field as a pandas column GDAL writes with the same type."""
    if kind == "integer":
        return pd.Series(values, dtype="Int64")
    if kind == "number":
        return pd.Series([None if v is None else float(v) for v in values], dtype="float64")
    if kind == "boolean":
        return pd.Series(values, dtype="boolean")
    if kind == "date":
        return pd.Series([date.fromisoformat(v[:10]) if isinstance(v, str) else v
                          for v in values], dtype=object)
    if kind == "datetime":
        return pd.Series(pd.to_datetime(values, format="ISO8601"))
    return pd.Series([None if v is None else str(v) for v in values], dtype=object)

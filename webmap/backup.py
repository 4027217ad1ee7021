"""Backups: export layers, published maps and comments to a folder, and import them back.

The folder holds ``layers/<id>.gpkg`` (or ``.tif``), ``maps/<id>.json`` (the documents staff
published), ``comments/<map>.gpkg`` (every comment with its id, time, status and personal data)
and ``manifest.json``. It is also the way from one backend to another (the embedded default to
PostGIS): ``export_all`` reads only through the Store protocol, the map registry and the comment
storage; ``import_all`` imports layers through the same service as ``webmap layers import``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import shapely

from .comments.export import BACKUP_COLUMNS, GPKG_LAYER, write_gpkg
from .comments.photos import Photo
from .comments.service import SNAPSHOT_COLUMNS, STATUSES, Comment, CommentStorage
from .layers import import_file
from .maps import MAP_ID, MapRegistry
from .plans.service import PLAN_ID_RE
from .plans.storage import PlanRepository
from .problems import Conflict, Problem
from .store.base import Store
from .types import Field, ImportReport, ItemQuery, LayerInfo, LayerKind

FORMAT = "webmap-export"
VERSION = 1
MANIFEST = "manifest.json"
PAGE_SIZE = 10_000
"""Features read from the store (and appended to the GeoPackage) at a time."""
GPKG_GEOMETRY_TYPES = {"Geometry": "Unknown"}
"""Catalogue geometry types that GDAL names differently; the others are the same."""
BACKUP_COMMENT_COLUMNS = BACKUP_COLUMNS
"""Every stored value: the key that keeps a retried submission from landing twice and the
snapshot of the plan feature commented on."""
REQUIRED_COMMENT_COLUMNS = BACKUP_COLUMNS[:10]
"""What a backup of any release has (the snapshot columns came later)."""

Echo = Callable[[str], None]


class BackupFailed(Problem):
    """An export or import of a backup folder cannot go ahead."""

    status = 400
    title = "Backup failed"


def export_all(store: Store, target: Path, *, maps: MapRegistry | None = None,
               comments: CommentStorage | None = None, plans: PlanRepository | None = None,
               on_layer: Echo | None = None) -> dict[str, Any]:
    """Write every layer of ``store``, the published maps of ``maps``, the comments of
    ``comments`` and a manifest into the empty folder ``target``.

    Vectors become ``layers/<id>.gpkg`` in EPSG:4326 (read page by page in fid order, so fids
    and attribute types survive); rasters are the stored COG copied to ``layers/<id>.tif``.
    Returns the manifest; ``on_layer`` gets a one-line summary per layer, map and map's
    comments.
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
            _copy_raster(store, info, target / "layers" / file_name)
            summary = f"exported {info.id}: raster from {info.source_crs} to layers/{file_name}"
        else:
            file_name = f"{info.id}.gpkg"
            written = _write_vector(store, info, target / "layers" / file_name)
            summary = (f"exported {info.id}: vector, {written} features from "
                       f"{info.source_crs} to layers/{file_name}")
        entries.append({"id": info.id, "kind": str(info.kind), "title": info.title,
                        "description": info.description, "attribution": info.attribution,
                        "source_crs": info.source_crs, "feature_count": info.feature_count,
                        "geometry_type": info.geometry_type, "id_field": info.id_field,
                        "editable": info.editable, "file": f"layers/{file_name}"})
        if on_layer is not None:
            on_layer(summary)
    manifest: dict[str, Any] = {
        "format": FORMAT, "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "layers": entries,
        "maps": [] if maps is None else _export_maps(maps, target, on_layer),
        "comments": [] if comments is None else _export_comments(comments, target, on_layer),
        "plans": [] if plans is None else _export_plans(plans, target, on_layer)}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                   encoding="utf-8")
    return manifest


def import_all(store: Store, source: Path, *, maps: MapRegistry | None = None,
               comments: CommentStorage | None = None, plans: PlanRepository | None = None,
               on_layer: Echo | None = None) -> list[ImportReport]:
    """Import every layer listed in ``source``'s manifest into ``store`` (replacing layers
    with the same id), keeping titles, descriptions, attributions and source CRSs; then the
    published maps into ``maps`` and the comments into ``comments`` (when given)."""
    manifest = read_manifest(Path(source))
    reports: list[ImportReport] = []
    for entry in manifest["layers"]:
        path = _layer_file(Path(source), entry)
        report = import_file(store, path, entry["id"], title=entry.get("title") or entry["id"],
                             attribution=entry.get("attribution") or "",
                             description=entry.get("description") or "",
                             source_crs=entry.get("source_crs") or None,
                             id_field=entry.get("id_field") or "none", keep_fids=True,
                             editable=bool(entry.get("editable", False)))
        reports.append(report)
        if on_layer is not None:
            expected = entry.get("feature_count")
            mismatch = (f" (the manifest says {expected})" if report.kind is LayerKind.VECTOR
                        and expected is not None and expected != report.feature_count else "")
            on_layer(f"imported {report.layer_id}: {report.kind}, {report.feature_count} "
                     f"features{mismatch} from {report.source_crs}")
    if maps is not None:
        _import_maps(maps, Path(source), manifest["maps"], on_layer)
    if comments is not None:
        _import_comments(comments, Path(source), manifest["comments"], on_layer)
    if plans is not None:
        _import_plans(plans, Path(source), manifest["plans"], on_layer)
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
    for key, id_key in (("layers", "id"), ("maps", "id"), ("comments", "map"), ("plans", "id")):
        entries = manifest.setdefault(key, [])
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get(id_key), str) for e in entries):
            raise BackupFailed(f"{path} has no valid list of {key}")
    return manifest


def _entry_file(source: Path, entry: dict[str, Any], folder: str, what: str) -> Path:
    """The file of a manifest entry; only files directly under ``folder/`` of the export."""
    name = str(entry.get("file", ""))
    path = source / name
    prefix = f"{folder}/"
    if not name.startswith(prefix) or Path(name).name != name[len(prefix):]:
        raise BackupFailed(f"{what}: file {name!r} is not under {prefix}")
    if not path.is_file():
        raise BackupFailed(f"{what}: {name} is missing from {source}")
    return path


def _layer_file(source: Path, entry: dict[str, Any]) -> Path:
    """The file of a layer entry, under ``layers/``."""
    return _entry_file(source, entry, "layers", f"layer {entry['id']!r}")


def _export_maps(maps: MapRegistry, target: Path, echo: Echo | None) -> list[dict[str, Any]]:
    """Each published map as the document staff sent, ``maps/<id>.json``."""
    entries: list[dict[str, Any]] = []
    for stored in maps.published():
        file_name = f"maps/{stored.id}.json"
        path = target / file_name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(stored.definition, ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")
        entries.append({"id": stored.id, "version": stored.version, "updated": stored.updated,
                        "file": file_name})
        if echo is not None:
            echo(f"exported map {stored.id} to {file_name}")
    return entries


def _import_maps(maps: MapRegistry, source: Path, entries: list[dict[str, Any]],
                 echo: Echo | None) -> None:
    """Publish each map again, as it was: no layer or style check (it passed when published),
    and a map a file now defines is left to the file."""
    for entry in entries:
        map_id = entry["id"]
        if not MAP_ID.match(map_id):
            raise BackupFailed(f"map {map_id!r}: not a map id")
        path = _entry_file(source, entry, "maps", f"map {map_id!r}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeError, json.JSONDecodeError) as exc:
            raise BackupFailed(f"map {map_id!r}: {path.name} is not valid JSON ({exc})"
                               ) from exc
        if not isinstance(data, dict) or data.get("id", map_id) != map_id:
            raise BackupFailed(f"map {map_id!r}: {path.name} does not define map {map_id!r}")
        try:
            _, created = maps.publish({**data, "id": map_id}, check=False)
        except Conflict as exc:
            if echo is not None:
                echo(f"skipped map {map_id}: {exc.detail}")
            continue
        if echo is not None:
            echo(f"imported map {map_id}" + ("" if created else " (replaced)"))


def _export_plans(plans: PlanRepository, target: Path, echo: Echo | None
                  ) -> list[dict[str, Any]]:
    """Each plan (its definition and the document it was imported from), ``plans/<id>.json``;
    its layers are exported with the other layers."""
    entries: list[dict[str, Any]] = []
    for stored in plans.all():
        file_name = f"plans/{stored.id}.json"
        path = target / file_name
        path.parent.mkdir(exist_ok=True)
        document = {"id": stored.id, "model": stored.model, "definition": stored.definition,
                    "source": plans.source(stored.id)}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")
        entries.append({"id": stored.id, "model": stored.model, "file": file_name})
        if echo is not None:
            echo(f"exported plan {stored.id} to {file_name}")
    return entries


def _import_plans(plans: PlanRepository, source: Path, entries: list[dict[str, Any]],
                  echo: Echo | None) -> None:
    """Store each plan again as it was (its layers came back with the other layers)."""
    for entry in entries:
        plan_id = entry["id"]
        if not PLAN_ID_RE.match(plan_id):
            raise BackupFailed(f"plan {plan_id!r}: not a plan id")
        path = _entry_file(source, entry, "plans", f"plan {plan_id!r}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeError, json.JSONDecodeError) as exc:
            raise BackupFailed(f"plan {plan_id!r}: {path.name} is not valid JSON ({exc})"
                               ) from exc
        if (not isinstance(data, dict) or data.get("id") != plan_id
                or not isinstance(data.get("definition"), dict)
                or data.get("model") not in ("ryhti", "ngp")):
            raise BackupFailed(f"plan {plan_id!r}: {path.name} does not hold plan {plan_id!r}")
        plans.put(plan_id, model=data["model"], definition=data["definition"],
                  source=data.get("source"))
        if echo is not None:
            echo(f"imported plan {plan_id}")


def _export_comments(comments: CommentStorage, target: Path, echo: Echo | None
                     ) -> list[dict[str, Any]]:
    """Every map's comments, all statuses, with personal data: ``comments/<map>.gpkg``."""
    entries: list[dict[str, Any]] = []
    for map_id in comments.map_ids():
        found = comments.list(map_id, statuses=STATUSES)
        file_name = f"comments/{map_id}.gpkg"
        path = target / file_name
        path.parent.mkdir(exist_ok=True)
        write_gpkg(found, path, columns=BACKUP_COMMENT_COLUMNS, own_geometry=True)
        photos = _write_photos(comments, found, path)
        entries.append({"map": map_id, "count": len(found), "file": file_name,
                        "photos": photos})
        if echo is not None:
            with_photos = f" with {photos} photos" if photos else ""
            echo(f"exported {len(found)} comments on {map_id} to {file_name}{with_photos}")
    return entries


PHOTO_TABLE = "comment_photos"
"""The attribute table of a comment backup GeoPackage that holds the photos' JPEGs."""


def _write_photos(comments: CommentStorage, found: list[Comment], path: Path) -> int:
    """Every photo of ``found`` into an attributes table of the GeoPackage (one at a time;
    no table where no comment has a photo)."""
    count = 0
    if not any(comment.photos for comment in found):
        return count
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(f"CREATE TABLE {PHOTO_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, "
                     "comment_id TEXT NOT NULL, n INTEGER NOT NULL, alt TEXT NOT NULL, "
                     "width INTEGER NOT NULL, height INTEGER NOT NULL, data BLOB NOT NULL)")
        conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, "
                     "description) VALUES (?, 'attributes', ?, ?)",
                     (PHOTO_TABLE, PHOTO_TABLE, "Photos of the comments (JPEG)"))
        for comment in found:
            for info in comment.photos:
                data = comments.photo(comment.id, info.n)[1]
                conn.execute(f"INSERT INTO {PHOTO_TABLE} (comment_id, n, alt, width, "  # noqa: S608
                             "height, data) VALUES (?, ?, ?, ?, ?, ?)",
                             (comment.id, info.n, info.alt, info.width, info.height, data))
                count += 1
    return count


def read_photos(path: Path) -> list[tuple[str, int, Photo]]:
    """The photos of a backup GeoPackage (none in a backup of an older release)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        known = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                             (PHOTO_TABLE,)).fetchone()
        if known is None:
            return []
        rows = conn.execute(f"SELECT comment_id, n, alt, width, height, data "  # noqa: S608
                            f"FROM {PHOTO_TABLE} ORDER BY comment_id, n").fetchall()
    return [(str(cid), int(n), Photo(alt=str(alt), data=bytes(data), width=int(width),
                                     height=int(height)))
            for cid, n, alt, width, height, data in rows]


def _import_comments(comments: CommentStorage, source: Path, entries: list[dict[str, Any]],
                     echo: Echo | None) -> None:
    """Restore each map's comments as they were; those already stored are left alone."""
    for entry in entries:
        map_id = entry["map"]
        path = _entry_file(source, entry, "comments", f"comments on {map_id!r}")
        found = read_comments(path, map_id)
        added = comments.restore(found)
        ids = {c.id for c in found}
        photos = comments.restore_photos([p for p in read_photos(path) if p[0] in ids])
        if echo is not None:
            kept = f" ({len(found) - added} were there already)" if added < len(found) else ""
            with_photos = f" with {photos} photos" if photos else ""
            echo(f"imported {added} comments on {map_id}{kept}{with_photos}")


def read_comments(path: Path, map_id: str) -> list[Comment]:
    """The comments of a backup GeoPackage, with geometry as the canonical GeoJSON text the
    comment service stores."""
    try:
        frame = pyogrio.read_dataframe(path, layer=GPKG_LAYER)
    except pyogrio.errors.DataSourceError as exc:
        raise BackupFailed(f"comments on {map_id!r}: {path.name} is not a GeoPackage with a "
                           f"layer {GPKG_LAYER!r}") from exc
    missing = [c for c in REQUIRED_COMMENT_COLUMNS if c not in frame.columns]
    if missing:
        raise BackupFailed(f"comments on {map_id!r}: {path.name} lacks {', '.join(missing)}")
    geometries = np.asarray(frame.geometry.values, dtype=object)
    found: list[Comment] = []
    present = [c for c in BACKUP_COMMENT_COLUMNS if c in frame.columns]
    for i, row in enumerate(frame[present].to_dict("records")):
        values = {k: None if _missing(v) else v for k, v in row.items()}
        if not values["id"] or values["status"] not in STATUSES or values["created"] is None:
            raise BackupFailed(f"comments on {map_id!r}: row {i + 1} of {path.name} has no id, "
                               "a known status or a time")
        created = pd.Timestamp(values["created"])
        created = created.tz_localize(UTC) if created.tzinfo is None else created.tz_convert(UTC)
        texts: dict[str, Any] = {k: None if values.get(k) is None else str(values[k])
                                 for k in ("feature_collection", "feature_id", "name", "email",
                                           "idempotency_key", *SNAPSHOT_COLUMNS, "response",
                                           "responded", "published_response")}
        found.append(Comment(
            id=str(values["id"]), map_id=map_id,
            created=created.to_pydatetime().isoformat(timespec="milliseconds"),
            status=str(values["status"]), text=str(values["text"] or ""),
            language=str(values["language"] or ""), geometry=_geojson(geometries[i]),
            **texts,
            themes=str(values.get("themes") or "[]"),
            changed_plan=bool(values.get("changed_plan") or False),
            notify=bool(values.get("notify") or False)))
    return found


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT


def _geojson(geometry: Any) -> str | None:
    """``{"type": …, "coordinates": …}`` as compact JSON, as the comment service writes it."""
    if geometry is None or shapely.is_empty(geometry):
        return None
    mapping = shapely.geometry.mapping(geometry)
    return orjson.dumps({"type": mapping["type"],
                         "coordinates": mapping["coordinates"]}).decode()


def _copy_raster(store: Store, info: LayerInfo, target: Path) -> None:
    """Copy the stored COG, wherever the store keeps it."""
    stored = store.raster_path(info)
    if not stored.is_file():
        raise BackupFailed(f"the raster of layer {info.id!r} is missing from the data "
                           f"folder ({stored.name})")
    shutil.copyfile(stored, target)


def _write_vector(store: Store, info: LayerInfo, target: Path) -> int:
    """Append the layer's features to a GeoPackage page by page; returns how many."""
    after: int | None = None
    written = 0
    geometry_type = GPKG_GEOMETRY_TYPES.get(info.geometry_type, info.geometry_type)
    while True:
        page = store.items(info, ItemQuery(limit=PAGE_SIZE, after=after, count=False))
        if page.ids or written == 0:
            frame = _frame(page.geometries, page.properties, info.fields)
            frame["fid"] = np.asarray(page.ids, dtype=np.int64)  # GDAL writes it as the FID
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

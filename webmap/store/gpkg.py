"""The embedded backend: one GeoPackage per layer version, COGs for rasters, the catalogue in
the SQLite database."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyogrio
import shapely

from ..database import SqliteDatabase
from ..ingest.ids import fids_by_key
from ..problems import Conflict, FeatureNotFound, ImportFailed, LayerNotFound, QueryTimeout
from ..tiles import encode
from ..tiles.request import TileRequest, query_bbox_crs84
from ..types import BBox, Field, ImportReport, ItemPage, ItemQuery, LayerInfo, LayerKind
from . import sqlfilter
from .base import Importer
from .catalogue import Catalogue
from .common import (
    FidPlan,
    broad,
    check_layer_id,
    field_type,
    new_version,
    overlaps,
    plan_fids,
    require_raster,
    require_vector,
    scratch_dir,
)
from .rasters import DEFAULT_MAX_READ_PIXELS, RasterFiles

_ENVELOPE_BYTES = (0, 32, 48, 48, 64, 0, 0, 0)
SCAN_BATCH = 1000
MMAP_BYTES = 1 << 30
PROGRESS_STEPS = 1000
"""SQLite virtual-machine steps between two looks at the clock of a query's budget."""


class _Budget:
    """A query's deadline: SQLite's progress handler interrupts a statement past it, and the
    Python loops between batches look at it too."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self) -> None:
        if self.expired():
            raise QueryTimeout(self.seconds)

    @contextmanager
    def watching(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.set_progress_handler(lambda: 1 if self.expired() else 0, PROGRESS_STEPS)
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout(self.seconds) from None
            raise
        finally:
            conn.set_progress_handler(None, 0)


class _Layer:
    """An open GeoPackage of one layer version: table names and a read-only connection."""

    def __init__(self, path: Path, info: LayerInfo) -> None:
        self.path = path
        self.conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                                    check_same_thread=False)
        # The file never changes once written: map it (pages shared by every worker through
        # the OS cache) instead of copying pages into each connection's small cache.
        self.conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        table, column = self.conn.execute(
            "SELECT table_name, column_name FROM gpkg_geometry_columns").fetchone()
        self.table = _quote(table)
        self.geom = _quote(column)
        self.rtree = _quote(f"rtree_{table}_{column}")
        self.fields = info.fields
        self.columns = {f.name: f"t.{_quote(f.name)}" for f in info.fields}
        sqlfilter.register(self.conn, wkb_of=_wkb)
        names = ", ".join(self.columns.values())
        self.select = f"SELECT t.fid, t.{self.geom}{', ' if names else ''}{names}"
        self.booleans = [i for i, f in enumerate(info.fields) if f.type == "boolean"]
        self.extent = info.bbox
        self.feature_count = info.feature_count
        self.dense = info.dense_ids

    @staticmethod
    def to_python(field: Field, column: tuple[Any, ...]) -> Sequence[Any]:
        """A fetched column with GeoPackage's 0/1 booleans as bools."""
        if field.type == "boolean":
            return [None if v is None else bool(v) for v in column]
        return column

    def rows_to_page(self, rows: list[tuple[Any, ...]]
                     ) -> tuple[list[int], Any, list[dict[str, Any]]]:
        """Split fetched rows into ids, shapely geometries and property dicts."""
        ids = [row[0] for row in rows]
        geoms = shapely.from_wkb([_wkb(row[1]) for row in rows])
        names = [f.name for f in self.fields]
        props = [dict(zip(names, row[2:], strict=True)) for row in rows]
        for i in self.booleans:
            name = names[i]
            for p in props:
                if p[name] is not None:
                    p[name] = bool(p[name])
        return ids, geoms, props


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _wkb(blob: bytes) -> bytes:
    """The WKB inside a GeoPackage geometry blob (skip the header and its envelope)."""
    return blob[8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 7]:]


class GpkgStore:
    """Files under ``data_dir``: ``layers/{id}/{version}.gpkg|.tif``; the catalogue in the
    SQLite database."""

    backend = "geopackage"

    def __init__(self, database: SqliteDatabase, data_dir: Path, *,
                 query_timeout_s: float = 10.0,
                 raster_max_read_pixels: int = DEFAULT_MAX_READ_PIXELS) -> None:
        self.data_dir = data_dir
        self.query_timeout_s = query_timeout_s
        (data_dir / "layers").mkdir(parents=True, exist_ok=True)
        self.catalogue = Catalogue(database)
        self.database = database
        self.rasters = RasterFiles(data_dir, max_read_pixels=raster_max_read_pixels)
        self._local = threading.local()

    # -- reading ---------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the catalogue cannot be read."""
        self.catalogue.ping()

    def layers(self) -> list[LayerInfo]:
        """Every layer, ordered by id."""
        return self.catalogue.all()

    def layer(self, layer_id: str) -> LayerInfo:
        """One layer; raises ``LayerNotFound``."""
        return self.catalogue.get(layer_id)

    def close(self) -> None:
        """Close this thread's GeoPackage connections."""
        for layer in self._local.__dict__.pop("open", {}).values():
            layer.conn.close()

    def _open(self, info: LayerInfo) -> _Layer:
        """This thread's connection to the layer's file; the current version's if ``info``
        names one that a replace has removed."""
        require_vector(info)
        cache: dict[str, _Layer] = self._local.__dict__.setdefault("open", {})
        layer = cache.get(info.id)
        path = self.data_dir / info.location
        if layer is not None and layer.path == path:
            return layer
        if not path.is_file():
            info = require_vector(self.catalogue.get(info.id))
            path = self.data_dir / info.location
        if layer is not None:
            layer.conn.close()
        layer = cache[info.id] = _Layer(path, info)
        return layer

    def item(self, info: LayerInfo, feature_id: int) -> ItemPage:
        """One feature by fid."""
        layer = self._open(info)
        rows = layer.conn.execute(f"{layer.select} FROM {layer.table} t WHERE t.fid = ?",
                                  (feature_id,)).fetchall()
        if not rows:
            raise FeatureNotFound(info.id, feature_id)
        ids, geoms, props = layer.rows_to_page(rows)
        return ItemPage(ids=ids, geometries=geoms, properties=props, number_matched=1,
                        next_after=None)

    def items(self, info: LayerInfo, query: ItemQuery) -> ItemPage:
        """A page in fid order; deep pages cost the same as the first (keyset on fid). The
        whole query runs within the store's time budget (``QueryTimeout`` past it)."""
        layer = self._open(info)
        plan = sqlfilter.plan(query, layer.columns, f"t.{layer.geom}")
        budget = _Budget(self.query_timeout_s)
        with budget.watching(layer.conn):
            return self._items(layer, plan, query, budget)

    def _items(self, layer: _Layer, plan: sqlfilter.Plan, query: ItemQuery,
               budget: _Budget) -> ItemPage:
        after = query.after
        offset = query.offset if after is None else 0  # a cursor replaces the offset
        if after is None and not plan.where and not plan.spatial and layer.dense:
            # fids of this version run 1..N without gaps: offset k is "fid > k".
            after, offset = offset, 0
        wanted = query.limit + 1
        found_ids: list[int] = []
        found_geoms: list[Any] = []
        found_props: list[dict[str, Any]] = []
        skipped = 0
        for ids, geoms, props in self._scan(layer, plan, after or 0):
            budget.check()
            for i in range(len(ids)):
                if skipped < offset:
                    skipped += 1
                    continue
                found_ids.append(ids[i])
                found_geoms.append(geoms[i])
                found_props.append(props[i])
            if len(found_ids) >= wanted:
                break
        more = len(found_ids) > query.limit
        del found_ids[query.limit:], found_geoms[query.limit:], found_props[query.limit:]
        matched: int | None = None
        if query.count:
            if not more and query.after is None and (plan.where or plan.spatial):
                matched = skipped + len(found_ids)  # the scan saw every match
            elif not plan.costly:  # CASEI/ACCENTI run in Python per row: no second scan
                try:
                    matched = self._count(layer, plan, budget)
                except sqlite3.OperationalError as exc:
                    if "interrupted" not in str(exc):
                        raise
        return ItemPage(ids=found_ids, geometries=np.array(found_geoms, dtype=object),
                        properties=found_props, number_matched=matched,
                        next_after=found_ids[-1] if more and found_ids else None)

    @staticmethod
    def _from(layer: _Layer, window: BBox | None) -> tuple[str, list[Any]]:
        """FROM and the start of WHERE: the table alone, or joined to the R-tree window."""
        if window is None:
            return f"FROM {layer.table} t WHERE 1", []
        join = (f"FROM {layer.table} t CROSS JOIN {layer.rtree} r ON r.id = t.fid"
                if broad(window, layer.extent) else
                f"FROM {layer.rtree} r JOIN {layer.table} t ON t.fid = r.id")
        return (f"{join} WHERE r.maxx >= ? AND r.minx <= ? AND r.maxy >= ? AND r.miny <= ?",
                [window[0], window[2], window[1], window[3]])

    def _scan(self, layer: _Layer, plan: sqlfilter.Plan, after: int, *,
              batch: int = SCAN_BATCH) -> Iterator[tuple[list[int], Any, list[dict[str, Any]]]]:
        """Batches of matching features with fid > ``after``: SQL conditions, then the R-tree
        window, then the exact spatial tests on the fetched geometries."""
        source, window_args = self._from(layer, plan.envelope)
        sql = f"{layer.select} {source} AND t.fid > ?{plan.where} ORDER BY t.fid LIMIT ?"
        while True:
            rows = layer.conn.execute(sql, [*window_args, after, *plan.args, batch]).fetchall()
            if not rows:
                return
            ids, geoms, props = layer.rows_to_page(rows)
            after = ids[-1]
            if plan.spatial:
                hit = plan.passes(geoms)
                if not hit.all():
                    keep = np.flatnonzero(hit)
                    ids = [ids[i] for i in keep]
                    props = [props[i] for i in keep]
                    geoms = geoms[keep]
            yield ids, geoms, props
            if len(rows) < batch:
                return

    def _count(self, layer: _Layer, plan: sqlfilter.Plan, budget: _Budget) -> int | None:
        """numberMatched, exact, or None when the rest of the budget does not suffice (the
        standard lets a server omit it). For a plain bbox the index counts features whose
        envelope lies inside it; only those crossing its edge, or every candidate of a
        spatial filter, are tested exactly."""
        if not plan.spatial:
            if not plan.where:
                return layer.feature_count
            sql = f"SELECT count(*) FROM {layer.table} t WHERE 1{plan.where}"
            return int(layer.conn.execute(sql, plan.args).fetchone()[0])
        source, window_args = self._from(layer, plan.envelope)
        inside = 0
        edge_sql = ""
        if plan.rectangle_only and plan.envelope is not None:
            inside_sql = "r.minx >= ? AND r.maxx <= ? AND r.miny >= ? AND r.maxy <= ?"
            minx, miny, maxx, maxy = plan.envelope
            inside_args = [minx, maxx, miny, maxy]
            inside = int(layer.conn.execute(
                f"SELECT count(*) {source} AND {inside_sql}{plan.where}",
                [*window_args, *inside_args, *plan.args]).fetchone()[0])
            edge_sql = f" AND NOT ({inside_sql})"
            window_args = [*window_args, *inside_args]
        cursor = layer.conn.execute(f"SELECT t.{layer.geom} {source}{edge_sql}{plan.where}",
                                    [*window_args, *plan.args])
        matched = inside
        while rows := cursor.fetchmany(SCAN_BATCH):
            if budget.expired():
                return None
            geoms = shapely.from_wkb([None if row[0] is None else _wkb(row[0]) for row in rows])
            matched += int(plan.passes(geoms).sum())
        return matched

    def vector_tile(self, info: LayerInfo, tile: TileRequest) -> bytes:
        """An MVT of every feature whose envelope meets the tile and its buffer."""
        layer = self._open(info)
        bbox = query_bbox_crs84(tile)
        if not overlaps(bbox, layer.extent):
            return b""
        join = (f"FROM {layer.table} t CROSS JOIN {layer.rtree} r ON r.id = t.fid"
                if broad(bbox, layer.extent) else
                f"FROM {layer.rtree} r JOIN {layer.table} t ON t.fid = r.id")
        rows = layer.conn.execute(
            f"{layer.select} {join} WHERE r.maxx >= ? AND r.minx <= ? AND r.maxy >= ?"
            " AND r.miny <= ?", (bbox[0], bbox[2], bbox[1], bbox[3])).fetchall()
        if not rows:
            return b""
        ids, blobs, *values = zip(*rows, strict=True)
        geoms = shapely.from_wkb([_wkb(blob) for blob in blobs])
        columns = {f.name: layer.to_python(f, column)
                   for f, column in zip(layer.fields, values, strict=True)}
        return encode.encode_tile(info.id, np.asarray(ids, dtype=np.int64), geoms, columns,
                                  tile)

    def raster_tile(self, info: LayerInfo, tile: TileRequest) -> bytes:
        """A PNG tile of a raster layer."""
        return self.rasters.tile(require_raster(info), tile)

    def raster_path(self, info: LayerInfo) -> Path:
        """The COG of a raster layer."""
        return self.rasters.path(require_raster(info))

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def _import_lock(self, layer_id: str) -> Iterator[None]:
        lock_path = self.data_dir / "layers" / f"{layer_id}.lock"
        with open(lock_path, "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict(f"layer {layer_id!r} is being imported by another request; "
                               "try again when it has finished") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def import_layer(self, layer_id: str, importer: Importer, *, attribution: str = "",
                     description: str = "") -> ImportReport:
        """Import into a scratch folder, move the result beside the old version, swap the
        catalogue entry in one transaction, then delete the old file."""
        check_layer_id(layer_id)
        with self._import_lock(layer_id), scratch_dir(self.data_dir) as scratch:
            layer = importer(scratch)
            version = new_version()
            report = layer.report
            ids = FidPlan(np.zeros(0, dtype=np.int64), 0, 0)
            if layer.report.kind is LayerKind.RASTER:
                if layer.raster_path is None:
                    raise ImportFailed("the raster import wrote no file")
                location = self.rasters.adopt(layer_id, version, layer.raster_path)
                fields: tuple[Field, ...] = ()
            else:
                with self.database.transaction() as conn:
                    previous = self.catalogue.find(conn, layer_id)
                    high = self.catalogue.fid_high(conn, layer_id)
                ids = plan_fids(layer.frame, layer.id_field, self._keys(previous), high=high,
                               given=layer.fids)
                report = dataclasses.replace(report, warnings=report.warnings + ids.notes)
                folder = self.data_dir / "layers" / layer_id
                folder.mkdir(exist_ok=True)
                target = folder / f"{version}.gpkg"
                fields = self._write_gpkg(layer.frame, layer_id, scratch / "layer.gpkg",
                                          ids.fids)
                os.replace(scratch / "layer.gpkg", target)
                location = str(target.relative_to(self.data_dir))
            try:
                with self.database.transaction(write=True) as conn:
                    old = self.catalogue.find(conn, layer_id)
                    self.catalogue.put(conn, report, fields=fields, version=version,
                                       location=location, attribution=attribution,
                                       description=description, max_fid=ids.max_fid,
                                       fid_high=ids.fid_high)
            except BaseException:
                self._discard(location)
                raise
            if old is not None and old.location != location:
                self._discard(old.location)
            return report

    def _keys(self, previous: LayerInfo | None) -> dict[str, int] | None:
        """The replaced version's id attribute values and their feature ids (None: no
        previous vector version; empty: it had no id attribute)."""
        if previous is None or previous.kind is not LayerKind.VECTOR:
            return None
        if not previous.id_field:
            return {}
        path = self.data_dir / previous.location
        if not path.is_file():
            return {}
        layer = _Layer(path, previous)
        try:
            rows = layer.conn.execute(f"SELECT fid, {_quote(previous.id_field)} FROM "
                                      f"{layer.table}").fetchall()
        finally:
            layer.conn.close()
        return fids_by_key(rows)

    def _write_gpkg(self, frame: Any, layer_id: str, path: Path,
                    fids: npt.NDArray[np.int64]) -> tuple[Field, ...]:
        """Write with GDAL (R-tree index, proper metadata: QGIS opens it as is); the ``fid``
        column becomes the GeoPackage's feature id."""
        frame = frame.reset_index(drop=True)
        fields = tuple(Field(str(name), field_type(frame[name]))
                       for name in frame.columns if name != frame.geometry.name)
        frame = frame.assign(fid=fids)
        try:
            pyogrio.write_dataframe(frame, path, layer=layer_id, driver="GPKG",
                                    use_arrow=True, promote_to_multi=False,
                                    layer_options={"SPATIAL_INDEX": "YES"})
        except Exception as exc:  # pyogrio/GDAL: report without internals
            raise ImportFailed(f"the layer could not be written: {type(exc).__name__}") from exc
        return fields

    def remove_layer(self, layer_id: str) -> None:
        """Delete the catalogue entry, then the file."""
        self.catalogue.get(layer_id)  # an unknown id never reaches a file path
        with self._import_lock(layer_id):
            with self.database.transaction(write=True) as conn:
                info = self.catalogue.find(conn, layer_id)
                if info is None:
                    raise LayerNotFound(layer_id)
                self.catalogue.delete(conn, layer_id)
            self._discard(info.location)
            self.rasters.remove_layer(layer_id)
            (self.data_dir / "layers" / f"{layer_id}.lock").unlink(missing_ok=True)

    def _discard(self, location: str) -> None:
        if location.endswith(".tif"):
            self.rasters.discard(location)
        else:
            (self.data_dir / location).unlink(missing_ok=True)

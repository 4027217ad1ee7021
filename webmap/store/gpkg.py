"""The embedded backend: one GeoPackage per layer version, COGs for rasters, SQLite catalogue."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely

from .. import mvt
from ..problems import Conflict, FeatureNotFound, ImportFailed, LayerNotFound, Problem
from ..types import BBox, Field, ImportReport, ItemPage, ItemQuery, LayerInfo, LayerKind
from . import cog, sqlfilter
from .base import Importer, TileRequest
from .sqlite import Catalogue

LAYER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENVELOPE_BYTES = (0, 32, 48, 48, 64, 0, 0, 0)
BROAD_SHARE = 0.2
"""A bbox covering more than this share of the layer's extent is scanned in fid order with an
index check per row; a smaller one is looked up in the R-tree first."""
SCAN_BATCH = 1000
MMAP_BYTES = 1 << 30


def check_layer_id(layer_id: str) -> str:
    """Layer ids are lower-case letters, digits, ``_`` and ``-``: safe in paths, URLs and SQL."""
    if not LAYER_ID_RE.match(layer_id):
        raise ImportFailed(f"layer id {layer_id!r} must be 1–64 lower-case letters, digits, "
                           "'_' or '-', starting with a letter or digit", status=400)
    return layer_id


def field_type(column: pd.Series) -> str:
    """The JSON Schema type (or date/datetime) of a pandas column."""
    dtype = column.dtype
    if pd.api.types.is_object_dtype(dtype):
        present = column.dropna()
        if len(present) and all(isinstance(v, date) and not isinstance(v, datetime)
                                for v in present.iloc[:100]):
            return "date"
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


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
    """Files under ``data_dir``: ``layers/{id}/{version}.gpkg|.tif`` and ``catalogue.sqlite``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        (data_dir / "layers").mkdir(parents=True, exist_ok=True)
        (data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.catalogue = Catalogue(data_dir / "catalogue.sqlite")
        self._local = threading.local()

    # -- reading ---------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the catalogue cannot be read."""
        self.catalogue.ping()

    def layers(self) -> list[LayerInfo]:
        """Every layer, ordered by id."""
        return [entry.info for entry in self.catalogue.entries()]

    def layer(self, layer_id: str) -> LayerInfo:
        """One layer; raises ``LayerNotFound``."""
        return self.catalogue.entry(layer_id).info

    def path(self, layer_id: str) -> Path:
        """The current file of a layer (for exports and QGIS users)."""
        return self.data_dir / self.catalogue.entry(layer_id).location

    def _open(self, layer_id: str) -> _Layer:
        entry = self.catalogue.entry(layer_id)
        if entry.info.kind is not LayerKind.VECTOR:
            raise Problem(f"collection {layer_id!r} is a raster and has no features",
                          status=400, title="Not a vector layer")
        cache: dict[str, _Layer] = self._local.__dict__.setdefault("open", {})
        layer = cache.get(layer_id)
        path = self.data_dir / entry.location
        if layer is None or layer.path != path:
            if layer is not None:
                layer.conn.close()
            layer = cache[layer_id] = _Layer(path, entry.info)
        return layer

    def item(self, layer_id: str, feature_id: int) -> ItemPage:
        """One feature by fid."""
        layer = self._open(layer_id)
        rows = layer.conn.execute(f"{layer.select} FROM {layer.table} t WHERE t.fid = ?",
                                  (feature_id,)).fetchall()
        if not rows:
            raise FeatureNotFound(layer_id, feature_id)
        ids, geoms, props = layer.rows_to_page(rows)
        return ItemPage(ids=ids, geometries=geoms, properties=props, number_matched=1,
                        next_after=None)

    def items(self, layer_id: str, query: ItemQuery) -> ItemPage:
        """A page in fid order; deep pages cost the same as the first (keyset on fid)."""
        layer = self._open(layer_id)
        plan = sqlfilter.plan(query, layer.columns, f"t.{layer.geom}")
        after = query.after
        offset = query.offset if after is None else 0  # a cursor replaces the offset
        if after is None and not plan.where and not plan.spatial:
            # fids of a written layer run 1..N without gaps: offset k is "fid > k".
            after, offset = offset, 0
        wanted = query.limit + 1
        found_ids: list[int] = []
        found_geoms: list[Any] = []
        found_props: list[dict[str, Any]] = []
        skipped = 0
        for ids, geoms, props in self._scan(layer, plan, after or 0):
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
        matched = self._count(layer, plan) if query.count else None
        return ItemPage(ids=found_ids, geometries=np.array(found_geoms, dtype=object),
                        properties=found_props, number_matched=matched,
                        next_after=found_ids[-1] if more and found_ids else None)

    @staticmethod
    def _from(layer: _Layer, window: BBox | None) -> tuple[str, list[Any]]:
        """FROM and the start of WHERE: the table alone, or joined to the R-tree window."""
        if window is None:
            return f"FROM {layer.table} t WHERE 1", []
        join = (f"FROM {layer.table} t CROSS JOIN {layer.rtree} r ON r.id = t.fid"
                if _broad(window, layer.extent) else
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

    def _count(self, layer: _Layer, plan: sqlfilter.Plan) -> int:
        """numberMatched, exact. For a plain bbox the index counts features whose envelope lies
        inside it; only those crossing its edge, or every candidate of a spatial filter, are
        tested exactly."""
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
            geoms = shapely.from_wkb([None if row[0] is None else _wkb(row[0]) for row in rows])
            matched += int(plan.passes(geoms).sum())
        return matched

    def vector_tile(self, layer_id: str, tile: TileRequest) -> bytes:
        """An MVT of every feature whose envelope meets the tile and its buffer."""
        layer = self._open(layer_id)
        bbox = mvt.query_bbox_crs84(tile)
        if not _overlaps(bbox, layer.extent):
            return b""
        join = (f"FROM {layer.table} t CROSS JOIN {layer.rtree} r ON r.id = t.fid"
                if _broad(bbox, layer.extent) else
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
        return mvt.encode_tile(layer_id, np.asarray(ids, dtype=np.int64), geoms, columns, tile)

    def raster_tile(self, layer_id: str, tile: TileRequest) -> bytes:
        """A PNG tile of a raster layer."""
        entry = self.catalogue.entry(layer_id)
        if entry.info.kind is not LayerKind.RASTER:
            raise Problem(f"collection {layer_id!r} is a vector layer: ask for MVT tiles",
                          status=400, title="Not a raster layer")
        return cog.render_tile(self.data_dir / entry.location, tile)

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
        with self._import_lock(layer_id):
            scratch = self.data_dir / "tmp" / uuid.uuid4().hex
            scratch.mkdir(parents=True)
            try:
                layer = importer(scratch)
                version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
                folder = self.data_dir / "layers" / layer_id
                folder.mkdir(exist_ok=True)
                if layer.report.kind is LayerKind.RASTER:
                    assert layer.raster_path is not None  # noqa: S101 - importer contract
                    target = folder / f"{version}.tif"
                    shutil.move(layer.raster_path, target)
                    fields: tuple[Field, ...] = ()
                else:
                    target = folder / f"{version}.gpkg"
                    fields = self._write_gpkg(layer.frame, layer_id, scratch / "layer.gpkg")
                    os.replace(scratch / "layer.gpkg", target)
                try:
                    old = self.catalogue.entry(layer_id).location
                except LayerNotFound:
                    old = None
                try:
                    self.catalogue.put(layer.report, fields=fields, version=version,
                                       location=str(target.relative_to(self.data_dir)),
                                       attribution=attribution, description=description)
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise
                if old is not None and old != str(target.relative_to(self.data_dir)):
                    self._discard(self.data_dir / old)
                return layer.report
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

    def _write_gpkg(self, frame: Any, layer_id: str, path: Path) -> tuple[Field, ...]:
        """Write with GDAL (R-tree index, proper metadata: QGIS opens it as is)."""
        frame = frame.reset_index(drop=True)
        fields = tuple(Field(str(name), field_type(frame[name]))
                       for name in frame.columns if name != frame.geometry.name)
        try:
            pyogrio.write_dataframe(frame, path, layer=layer_id, driver="GPKG",
                                    use_arrow=True, promote_to_multi=False,
                                    layer_options={"SPATIAL_INDEX": "YES"})
        except Exception as exc:  # pyogrio/GDAL: report without internals
            raise ImportFailed(f"the layer could not be written: {type(exc).__name__}") from exc
        return fields

    def remove_layer(self, layer_id: str) -> None:
        """Delete the catalogue entry, then the file."""
        self.catalogue.entry(layer_id)  # an unknown id never reaches a file path
        with self._import_lock(layer_id):
            entry = self.catalogue.delete(layer_id)
            self._discard(self.data_dir / entry.location)
            shutil.rmtree(self.data_dir / "layers" / layer_id, ignore_errors=True)
            (self.data_dir / "layers" / f"{layer_id}.lock").unlink(missing_ok=True)

    def _discard(self, path: Path) -> None:
        if path.suffix == ".tif":
            cog.forget(path)
        path.unlink(missing_ok=True)


def _broad(bbox: BBox, extent: BBox) -> bool:
    """True where the bbox covers a large share of the layer's extent."""
    ix = max(0.0, min(bbox[2], extent[2]) - max(bbox[0], extent[0]))
    iy = max(0.0, min(bbox[3], extent[3]) - max(bbox[1], extent[1]))
    area = max((extent[2] - extent[0]) * (extent[3] - extent[1]), 1e-18)
    return ix * iy / area > BROAD_SHARE


def _overlaps(a: BBox, b: BBox) -> bool:
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]

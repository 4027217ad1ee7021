"""The PostGIS backend: layers as tables, the catalogue as a table, tiles made by the database.

Every layer version is a table ``layer_<id>_<version>`` (``fid bigint`` 1..N in source order,
``geom`` in EPSG:4326 with a GiST index, rows stored along a Z-order curve); the catalogue row
in ``webmap_layers`` names it (or, for rasters, the COG under ``data_dir``). Connections come
from the one ``PostgresDatabase`` pool, which turns a lost database into a 503.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import errors, sql

from ..database import PostgresDatabase
from ..ingest.ids import fids_by_key
from ..problems import (
    Conflict,
    FeatureNotFound,
    ImportFailed,
    LayerNotFound,
    QueryTimeout,
    ServiceUnavailable,
)
from ..tiles import policy
from ..tiles.request import TileRequest, query_bbox_crs84
from ..types import Field, ImportReport, ItemPage, ItemQuery, LayerInfo, LayerKind
from . import pgcopy, pgfilter, pgtiles
from .base import Importer
from .catalogue import Catalogue
from .common import (
    FidPlan,
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

log = logging.getLogger("webmap.postgis")

PG_TYPES = {"string": "text", "integer": "bigint", "number": "double precision",
            "boolean": "boolean", "date": "date", "datetime": "timestamptz"}
COPY_TYPES = {"text": "text", "bigint": "int8", "double precision": "float8",
              "boolean": "bool", "date": "date", "timestamptz": "timestamptz",
              "timestamp": "timestamp"}
ANALYZE_TARGET = 30
"""Statistics target of the ANALYZE after an import: a third of the default, a third of the
time (50 ms instead of 150 ms for 200,000 polygons), enough for bbox and filter plans."""
READ_ATTEMPTS = 3
"""A read that finds its table dropped by a replace is retried on the new version."""

R = TypeVar("R")


@dataclass(frozen=True)
class _PreparedTable:
    """A layer's COPY payload, made before any transaction opens."""

    fields: tuple[Field, ...]
    types: tuple[str, ...]
    columns: list[pgcopy.CopyColumn]


def _time_limit(conn: psycopg.Connection[Any], deadline: float) -> None:
    """``statement_timeout`` for the rest of this transaction: what is left until
    ``deadline``."""
    left_ms = max(1, int((deadline - time.monotonic()) * 1000))
    conn.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(left_ms)))


class PostgisStore:
    """Layers in PostgreSQL/PostGIS; rasters stay COGs under ``data_dir/layers``."""

    backend = "postgis"

    def __init__(self, database: PostgresDatabase, data_dir: Path, *,
                 query_timeout_s: float = 10.0,
                 raster_max_read_pixels: int = DEFAULT_MAX_READ_PIXELS) -> None:
        self.database = database
        self.query_timeout_s = query_timeout_s
        self.data_dir = data_dir
        self.catalogue = Catalogue(database)
        self.rasters = RasterFiles(data_dir, max_read_pixels=raster_max_read_pixels)

    def close(self) -> None:
        """Nothing to release: connections belong to the database's pool."""

    # -- reading ---------------------------------------------------------------------------
    def ping(self) -> None:
        """The catalogue answers."""
        self.catalogue.ping()

    def layers(self) -> list[LayerInfo]:
        """Every layer, ordered by id."""
        return self.catalogue.all()

    def layer(self, layer_id: str) -> LayerInfo:
        """One layer; raises ``LayerNotFound``."""
        return self.catalogue.get(layer_id)

    def _reading(self, info: LayerInfo, read: Callable[[psycopg.Connection[Any], LayerInfo], R]
                 ) -> R:
        """Run ``read`` on the version ``info`` names; on the current one if a replace dropped
        that table meanwhile."""
        require_vector(info)
        for attempt in range(READ_ATTEMPTS):
            with self.database.connection() as conn:
                try:
                    return read(conn, info)
                except errors.UndefinedTable:
                    if attempt == READ_ATTEMPTS - 1:
                        raise
            info = require_vector(self.catalogue.get(info.id))
        raise AssertionError("unreachable")

    @staticmethod
    def _select(info: LayerInfo) -> sql.Composable:
        columns: list[sql.Composable] = [sql.SQL("t.fid"), sql.SQL("ST_AsBinary(t.geom)")]
        columns += [sql.SQL("t.") + sql.Identifier(f.name) for f in info.fields]
        return sql.SQL("SELECT {} FROM {} t").format(sql.SQL(", ").join(columns),
                                                     sql.Identifier(info.location))

    @staticmethod
    def _page(info: LayerInfo, rows: list[tuple[Any, ...]]
              ) -> tuple[list[int], Any, list[dict[str, Any]]]:
        ids = [row[0] for row in rows]
        geoms = shapely.from_wkb([row[1] for row in rows])
        names = [f.name for f in info.fields]
        props = [dict(zip(names, row[2:], strict=True)) for row in rows]
        return ids, np.asarray(geoms, dtype=object), props

    def item(self, info: LayerInfo, feature_id: int) -> ItemPage:
        """One feature by fid."""
        def read(conn: psycopg.Connection[Any], info: LayerInfo) -> ItemPage:
            rows = conn.execute(self._select(info) + sql.SQL(" WHERE t.fid = %s"),
                                (feature_id,)).fetchall()
            if not rows:
                raise FeatureNotFound(info.id, feature_id)
            ids, geoms, props = self._page(info, rows)
            return ItemPage(ids=ids, geometries=geoms, properties=props, number_matched=1,
                            next_after=None)
        return self._reading(info, read)

    def items(self, info: LayerInfo, query: ItemQuery) -> ItemPage:
        """A page in fid order (keyset on fid); numberMatched exact."""
        def read(conn: psycopg.Connection[Any], info: LayerInfo) -> ItemPage:
            columns = {f.name: f.name for f in info.fields}
            plan = pgfilter.plan(query, columns, unaccent=self.database.unaccent)
            after = query.after
            offset = query.offset if after is None else 0  # a cursor replaces the offset
            if after is None and not plan.filtered and info.dense_ids:
                after, offset = offset, 0  # fids of this version run 1..N without gaps
            statement = self._select(info) + sql.SQL(
                " WHERE t.fid > %s AND {} ORDER BY t.fid LIMIT %s OFFSET %s").format(plan.where)
            deadline = time.monotonic() + self.query_timeout_s
            with conn.transaction():
                _time_limit(conn, deadline)
                try:
                    rows = conn.execute(statement, (after or 0, *plan.args, query.limit + 1,
                                                    offset)).fetchall()
                except errors.QueryCanceled:
                    raise QueryTimeout(self.query_timeout_s) from None
                more = len(rows) > query.limit
                ids, geoms, props = self._page(info, rows[:query.limit])
                matched: int | None = None
                if query.count:
                    if not plan.filtered:
                        matched = info.feature_count
                    elif not more and query.after is None and (ids or not offset):
                        matched = offset + len(ids)  # the page saw every match
                    else:
                        matched = self._count(conn, info, plan, deadline)
            return ItemPage(ids=ids, geometries=geoms, properties=props,
                            number_matched=matched,
                            next_after=ids[-1] if more and ids else None)
        return self._reading(info, read)

    @staticmethod
    def _count(conn: psycopg.Connection[Any], info: LayerInfo, plan: pgfilter.Plan,
               deadline: float) -> int | None:
        """numberMatched in what is left of the budget, or None (the standard lets a server
        omit it) when that does not suffice."""
        if time.monotonic() >= deadline:
            return None
        try:
            with conn.transaction():  # a savepoint: a cancelled count leaves the page intact
                _time_limit(conn, deadline)
                row = conn.execute(sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(
                    sql.Identifier(info.location), plan.where), plan.args).fetchone()
        except errors.QueryCanceled:
            return None
        return int(row[0]) if row is not None else None

    def vector_tile(self, info: LayerInfo, tile: TileRequest) -> bytes:
        """An MVT made by PostGIS: features meeting the tile and its buffer, clipped,
        simplified to a tile unit, the smallest left out, the largest kept first."""
        def read(conn: psycopg.Connection[Any], info: LayerInfo) -> bytes:
            window = query_bbox_crs84(tile)
            if not overlaps(window, info.bbox):
                return b""
            limit = policy.MAX_FEATURES
            while True:
                data = self._mvt(conn, info, tile, window, limit)
                if len(data) <= policy.MAX_TILE_BYTES or limit < 2:
                    return data
                count = self._mvt_count(conn, info, window, limit)
                limit = policy.refit_count(min(limit, count), len(data))
        return self._reading(info, read)

    @staticmethod
    def _mvt_count(conn: psycopg.Connection[Any], info: LayerInfo,
                   window: tuple[float, float, float, float], limit: int) -> int:
        row = conn.execute(sql.SQL(
            "SELECT count(*) FROM (SELECT 1 FROM {} t WHERE t.geom && "
            "ST_MakeEnvelope(%s, %s, %s, %s, 4326) LIMIT %s) c").format(
                sql.Identifier(info.location)), (*window, limit)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _mvt(conn: psycopg.Connection[Any], info: LayerInfo, tile: TileRequest,
             window: tuple[float, float, float, float], limit: int) -> bytes:
        statement = pgtiles.mvt_statement(info.location, tuple(f.name for f in info.fields))
        row = conn.execute(statement, pgtiles.tile_parameters(
            tile, window, name=info.id, limit=limit)).fetchone()
        return bytes(row[0]) if row and row[0] else b""

    def raster_tile(self, info: LayerInfo, tile: TileRequest) -> bytes:
        """A PNG tile of a raster layer (the COG on disk)."""
        return self.rasters.tile(require_raster(info), tile)

    def raster_path(self, info: LayerInfo) -> Path:
        """The COG of a raster layer."""
        return self.rasters.path(require_raster(info))

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def _import_lock(self, layer_id: str) -> Iterator[None]:
        """The layer's session-level advisory lock (every worker and host sees it) for the
        whole import, held on a connection outside any transaction; ``Conflict`` when another
        import or removal of the id holds it."""
        with self.database.connection() as conn:
            got = conn.execute(
                "SELECT pg_try_advisory_lock(hashtext('webmap:' || current_schema() || ':' "
                "|| %s))", (layer_id,)).fetchone()
            if not got or not got[0]:
                raise Conflict(f"layer {layer_id!r} is being imported by another request; "
                               "try again when it has finished")
            try:
                yield
            finally:
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(hashtext('webmap:' || "
                                 "current_schema() || ':' || %s))", (layer_id,))

    def import_layer(self, layer_id: str, importer: Importer, *, attribution: str = "",
                     description: str = "") -> ImportReport:
        """Holding the layer's lock: read and repair with no transaction open, then one short
        transaction for CREATE TABLE, COPY, indexes, ANALYZE and the catalogue swap; then
        drop the old table."""
        check_layer_id(layer_id)
        with self._import_lock(layer_id), scratch_dir(self.data_dir) as scratch:
            with _collector_paused():
                layer = importer(scratch)
                version = new_version()
                report = layer.report
                ids = FidPlan(np.zeros(0, dtype=np.int64), 0, 0)
                if layer.report.kind is not LayerKind.RASTER:
                    with self.database.transaction() as conn:
                        previous = self.catalogue.find(conn, layer_id)
                        high = self.catalogue.fid_high(conn, layer_id)
                        keys = self._keys(conn, previous)
                    ids = plan_fids(layer.frame, layer.id_field, keys, high=high,
                               given=layer.fids)
                    report = dataclasses.replace(report, warnings=report.warnings + ids.notes)
                prepared = (None if layer.report.kind is LayerKind.RASTER
                            else self._prepare(layer.frame, ids.fids))
            if prepared is None:
                if layer.raster_path is None:
                    raise ImportFailed("the raster import wrote no file")
                location = self.rasters.adopt(layer_id, version, layer.raster_path)
            else:
                location = table_name(layer_id, version)
            try:
                with self.database.transaction(write=True) as conn:
                    if prepared is not None:
                        self._write_table(conn, location, prepared)
                    old = self.catalogue.find(conn, layer_id)
                    self.catalogue.put(conn, report,
                                       fields=() if prepared is None else prepared.fields,
                                       version=version, location=location,
                                       attribution=attribution, description=description,
                                       max_fid=ids.max_fid, fid_high=ids.fid_high)
            except BaseException:
                if prepared is None:
                    self.rasters.discard(location)
                raise
        if old is not None:
            self._discard(old)
        return report

    @staticmethod
    def _keys(conn: psycopg.Connection[Any], previous: LayerInfo | None
              ) -> dict[str, int] | None:
        """The replaced version's id attribute values and their feature ids (None: no
        previous vector version; empty: it had no id attribute)."""
        if previous is None or previous.kind is not LayerKind.VECTOR:
            return None
        if not previous.id_field:
            return {}
        try:
            rows = conn.execute(sql.SQL("SELECT fid, {} FROM {}").format(
                sql.Identifier(previous.id_field), sql.Identifier(previous.location))).fetchall()
        except errors.UndefinedTable:
            return {}
        return fids_by_key(rows)

    @staticmethod
    def _prepare(frame: Any, fids: Any) -> _PreparedTable:
        """Types and the binary COPY columns, rows along a Z-order curve (fids stay the
        source order): a tile's or a bbox's features then share heap pages (on the benchmark
        layer 31 pages instead of 455 for a 500 m box, 14 % less database time per z14 tile)."""
        frame = frame.reset_index(drop=True)
        geometry_name = frame.geometry.name
        names = [str(n) for n in frame.columns if n != geometry_name]
        fields = tuple(Field(name, field_type(frame[name])) for name in names)
        types = tuple(_pg_type(frame[f.name], f.type) for f in fields)
        order = pgcopy.spatial_order(np.asarray(frame.geometry.values, dtype=object))
        frame = frame.take(order)
        ordered_fids = np.asarray(fids, dtype=np.int64)[order]
        geoms = np.asarray(frame.geometry.values, dtype=object)
        try:
            columns = [
                pgcopy.CopyColumn("fid", fixed=ordered_fids.astype(">i8")),
                pgcopy.binary_column("geom", shapely.to_wkb(geoms)),
                *(pgcopy.frame_column(f.name, frame[f.name], COPY_TYPES[t])
                  for f, t in zip(fields, types, strict=True))]
        except pgcopy.CopyValueError as exc:
            raise ImportFailed(f"the layer could not be written: {exc}") from exc
        return _PreparedTable(fields, types, columns)

    @staticmethod
    def _write_table(conn: psycopg.Connection[Any], table: str, prepared: _PreparedTable
                     ) -> None:
        """CREATE TABLE, binary COPY, indexes, ANALYZE, all in the caller's transaction."""
        ident = sql.Identifier(table)
        definitions = sql.SQL("").join(
            sql.SQL(", {} {}").format(sql.Identifier(f.name), sql.SQL(t))
            for f, t in zip(prepared.fields, prepared.types, strict=True))
        conn.execute(sql.SQL("CREATE TABLE {} (fid bigint NOT NULL, "
                             "geom geometry(Geometry, 4326){})").format(ident, definitions))
        column_list = sql.SQL(", ").join(sql.Identifier(c.name)
                                         for c in pgcopy.ordered(prepared.columns))
        # FREEZE: rows are written visible to all, so the first readers need not set hint
        # bits on every page; PostgreSQL allows it only under read committed here.
        isolation = conn.execute("SHOW transaction_isolation").fetchone()
        freeze = sql.SQL(", FREEZE" if isolation == ("read committed",) else "")
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY{})").format(
            ident, column_list, freeze)
        try:
            with conn.cursor().copy(statement) as copy:
                for chunk in pgcopy.copy_chunks(prepared.columns):
                    copy.write(chunk)
        except pgcopy.CopyValueError as exc:
            raise ImportFailed(f"the layer could not be written: {exc}") from exc
        except psycopg.DataError as exc:
            raise ImportFailed(f"the layer could not be written: {exc.diag.message_primary}"
                               ) from exc
        conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (fid)").format(ident))
        conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(ident))
        conn.execute(f"SET LOCAL default_statistics_target = {ANALYZE_TARGET}")
        conn.execute(sql.SQL("ANALYZE {}").format(ident))

    def remove_layer(self, layer_id: str) -> None:
        """Delete the catalogue row and the table (or COG) in one transaction."""
        with self._import_lock(layer_id), self.database.transaction(write=True) as conn:
            info = self.catalogue.find(conn, layer_id)
            if info is None:
                raise LayerNotFound(layer_id)
            self.catalogue.delete(conn, layer_id)
            if info.kind is LayerKind.VECTOR:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(info.location)))
        if info.kind is LayerKind.RASTER:
            self.rasters.discard(info.location)
            self.rasters.remove_layer(layer_id)

    def _discard(self, info: LayerInfo) -> None:
        """Drop a replaced version (readers that still had its name retry on the new one)."""
        if info.kind is LayerKind.RASTER:
            self.rasters.discard(info.location)
            return
        try:
            with self.database.connection() as conn:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(info.location)))
        except (psycopg.Error, ServiceUnavailable) as exc:
            # the new version is in; an orphan table is harmless
            log.warning("could not drop replaced table %s: %s", info.location, exc)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the length of an import."""
    # An import allocates millions of objects (rows, geometries, WKB) that hold no cycles, and
    # each allocation burst triggers full collections walking all of them: 0.4 s of a 2.1 s
    # import of 200,000 polygons. Reference counting still frees everything as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def table_name(layer_id: str, version: str) -> str:
    """``layer_<id>_<version>``, at most 63 characters (PostgreSQL's identifier limit)."""
    safe_version = version.lower().replace("-", "_")
    return f"layer_{layer_id.replace('-', '_')}"[:62 - len(safe_version)] + "_" + safe_version


def _pg_type(column: pd.Series, kind: str) -> str:
    if kind == "datetime" and getattr(column.dtype, "tz", None) is None:
        return "timestamp"
    return PG_TYPES[kind]


"""The PostGIS backend: layers as tables, the catalogue as a table, tiles made by the database.

Every layer version is a table ``layer_<id>_<version>`` (``fid bigint`` 1..N in source order,
``geom`` in EPSG:4326 with a GiST index, rows stored along a Z-order curve); ``webmap_layers``
holds the same columns as the embedded catalogue, ``location`` naming the table (or, for
rasters, the COG under ``data_dir``). Connections come from a ``psycopg_pool`` pool; losing
the database turns into ``ServiceUnavailable`` (503 with ``Retry-After``) and the pool
reconnects by itself.
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from .. import mvt
from ..grids import GRID_EPSG
from ..problems import (
    Conflict,
    FeatureNotFound,
    ImportFailed,
    LayerNotFound,
    Problem,
    ServiceUnavailable,
)
from ..types import Field, ImportReport, ItemPage, ItemQuery, LayerInfo, LayerKind
from . import cog, pgcopy, pgfilter, pgtiles
from .base import Importer, TileRequest
from .gpkg import check_layer_id, field_type
from .migrate import ensure_current

log = logging.getLogger("webmap.postgis")

CATALOGUE = "webmap_layers"
COLUMNS = ("id, kind, title, description, attribution, source_crs, minx, miny, maxx, maxy, "
           "feature_count, geometry_type, fields, version, location, updated")
PG_TYPES = {"string": "text", "integer": "bigint", "number": "double precision",
            "boolean": "boolean", "date": "date", "datetime": "timestamptz"}
COPY_TYPES = {"text": "text", "bigint": "int8", "double precision": "float8",
              "boolean": "bool", "date": "date", "timestamptz": "timestamptz",
              "timestamp": "timestamp"}
ANALYZE_TARGET = 30
"""Statistics target of the ANALYZE after an import: a third of the default, a third of the
time (50 ms instead of 150 ms for 200,000 polygons), enough for bbox and filter plans."""
POOL_TIMEOUT_S = 3.0
"""How long a request waits for a pooled connection (a sync worker uses one at a time, so
this is the time to connect): the longest a request waits when the database has just gone."""
CONNECT_TIMEOUT_S = 3
"""libpq's ``connect_timeout`` unless the URL sets one: an unreachable host fails, not hangs."""
TCP_OPTIONS = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
               "keepalives_count": 3, "tcp_user_timeout": 10_000}
"""A server that vanishes without closing the socket (a cut network) fails a request within
10 s of unacknowledged data, or about a minute of silence, instead of hanging a worker."""
RECONNECT_TIMEOUT_S = 0.25
"""How long the pool retries one failed connection attempt in the background before it gives
up and leaves the next request to start a fresh one. psycopg_pool waits a second before its
first retry and doubles the wait after that; while it waits, no request gets a connection,
even when the database is back. Capped at a quarter of a second, a worker serves again at
most that long after the database returns (each attempt is one refused connect while the
database is down, so giving up early costs nothing)."""
CHECK_IDLE_S = 1.0
"""Pooled connections idle this long get a round trip before use (``PostgisStore._check``)."""
DOWN_POOL_TIMEOUT_S = 0.5
"""How long a request waits for a connection while the database is known to be down."""
RETRY_AFTER = {"Retry-After": "5"}
SESSION_SETTINGS = ("SET jit = off", "SET max_parallel_workers_per_gather = 0")
"""Per connection. JIT compiling tile queries (their PostGIS costs pass ``jit_above_cost``)
took 0.8-1.4 s of a 1.0-1.7 s dense tile on the benchmark data, whose queries run in tens of
milliseconds; parallel workers cost more to start than such a query saves, and each worker
process already runs its own requests side by side."""

P = ParamSpec("P")
R = TypeVar("R")


def _unavailable(method: Callable[Concatenate[PostgisStore, P], R]
                 ) -> Callable[Concatenate[PostgisStore, P], R]:
    """Turn a lost database (refused, broken, pool timeout) into a 503; tell the store."""

    @wraps(method)
    def wrapper(store: PostgisStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = method(store, *args, **kwargs)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            store.lost(exc)
            raise ServiceUnavailable("the database cannot be reached; try again shortly",
                                     headers=dict(RETRY_AFTER)) from exc
        store.found()
        return result

    return wrapper


def connection_options(database_url: str) -> dict[str, Any]:
    """Pool connection keywords; timeouts only where the URL sets none (keywords win)."""
    given = conninfo_to_dict(database_url)
    options: dict[str, Any] = {"application_name": "webmap", "autocommit": True}
    defaults = {"connect_timeout": CONNECT_TIMEOUT_S, **TCP_OPTIONS}
    options.update({k: v for k, v in defaults.items() if k not in given})
    return options


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Session settings for every new pooled connection."""
    for statement in SESSION_SETTINGS:
        conn.execute(statement)


class _Catalogued:
    """A catalogue row: the layer info and where its data lie."""

    __slots__ = ("info", "location")

    def __init__(self, row: Sequence[Any]) -> None:
        (layer_id, kind, title, description, attribution, source_crs, minx, miny, maxx, maxy,
         count, geometry_type, fields, version, location, updated) = row
        self.info = LayerInfo(
            id=layer_id, kind=LayerKind(kind), title=title, description=description,
            attribution=attribution, source_crs=source_crs,
            bbox=(float(minx), float(miny), float(maxx), float(maxy)),
            feature_count=int(count), geometry_type=geometry_type,
            fields=tuple(Field(n, t) for n, t in json.loads(fields)),
            version=version, updated=updated)
        self.location: str = location


class PostgisStore:
    """Layers in PostgreSQL/PostGIS; rasters stay COGs under ``data_dir/layers``."""

    def __init__(self, database_url: str, *, data_dir: Path, min_size: int = 1,
                 max_size: int = 8, timeout: float | None = None) -> None:
        self.data_dir = data_dir
        (data_dir / "layers").mkdir(parents=True, exist_ok=True)
        (data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        self._down = False
        self._timeout_s = timeout or POOL_TIMEOUT_S
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary())
        self.pool = ConnectionPool(
            database_url, min_size=min_size, max_size=max_size,
            timeout=timeout or POOL_TIMEOUT_S, open=True, name="webmap",
            kwargs=connection_options(database_url), configure=_configure,
            check=self._check, reset=self._note_return, reconnect_timeout=RECONNECT_TIMEOUT_S,
            reconnect_failed=lambda _: self._mark_down())
        self.unaccent = False
        self._ready = False
        try:
            self.init()
        except ServiceUnavailable:
            log.warning("PostGIS is not reachable yet; webmap answers 503 until it is")

    def close(self) -> None:
        """Close the pool's connections."""
        self.pool.close()

    def _note_return(self, conn: psycopg.Connection[Any]) -> None:
        """Pool ``reset`` callback: remember when the connection was last in use."""
        self._returned[conn] = time.monotonic()

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """Pool ``check`` callback: a round trip only for idle connections, or all when down."""
        # A restarted or lost server shows on connections idle a while; those a loaded worker
        # reuses every few milliseconds skip the round trip (a stale one costs one 503).
        if self._down or time.monotonic() - self._returned.get(conn, 0.0) >= CHECK_IDLE_S:
            try:
                ConnectionPool.check_connection(conn)
            except Exception:
                self._mark_down()
                raise

    def _mark_down(self) -> None:
        """Until the database answers: short connection waits, every connection checked."""
        # 503s then come at once instead of after POOL_TIMEOUT_S, and no connection that died
        # with the server is handed out once it is back.
        if not self._down:
            self._down = True
            self.pool.timeout = min(self._timeout_s, DOWN_POOL_TIMEOUT_S)

    def lost(self, exc: Exception) -> None:
        """A request failed for want of the database."""
        log.warning("database unavailable: %s", str(exc).strip().splitlines()[0]
                    if str(exc).strip() else type(exc).__name__)
        self._mark_down()

    def found(self) -> None:
        """The database answered: wait for connections as usual again."""
        if self._down:
            self._down = False
            self.pool.timeout = self._timeout_s
            log.warning("database reachable again")

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        if not self._ready:
            self.init()
        with self.pool.connection() as conn:
            yield conn

    @_unavailable
    def init(self) -> None:
        """Create the extensions and the catalogue if missing (idempotent)."""
        with self.pool.connection() as conn:
            installed = {r[0] for r in conn.execute(
                "SELECT extname FROM pg_extension WHERE extname IN ('postgis', 'unaccent')")}
            for extension in ("postgis", "unaccent"):
                if extension in installed:
                    continue
                try:
                    with conn.transaction():
                        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                            sql.Identifier(extension)))
                    installed.add(extension)
                except psycopg.DatabaseError as exc:
                    if extension == "postgis":
                        raise ServiceUnavailable(
                            "the database has no PostGIS and webmap may not install it",
                            headers=dict(RETRY_AFTER)) from exc
                    log.info("no unaccent extension (%s): ACCENTI uses translate()", exc)
            ensure_current(conn)
        self.unaccent = "unaccent" in installed
        self._ready = True

    # -- reading ---------------------------------------------------------------------------
    @_unavailable
    def ping(self) -> None:
        """``SELECT 1`` through the pool."""
        with self._conn() as conn:
            conn.execute("SELECT 1")

    def _entry(self, conn: psycopg.Connection[Any], layer_id: str) -> _Catalogued:
        row = conn.execute(f"SELECT {COLUMNS} FROM {CATALOGUE} WHERE id = %s",  # noqa: S608
                           (layer_id,)).fetchone()
        if row is None:
            raise LayerNotFound(layer_id)
        return _Catalogued(row)

    def _vector(self, conn: psycopg.Connection[Any], layer_id: str) -> _Catalogued:
        entry = self._entry(conn, layer_id)
        if entry.info.kind is not LayerKind.VECTOR:
            raise Problem(f"collection {layer_id!r} is a raster and has no features",
                          status=400, title="Not a vector layer")
        return entry

    @_unavailable
    def layers(self) -> list[LayerInfo]:
        """Every layer, ordered by id."""
        with self._conn() as conn:
            rows = conn.execute(f"SELECT {COLUMNS} FROM {CATALOGUE} ORDER BY id").fetchall()  # noqa: S608
        return [_Catalogued(row).info for row in rows]

    @_unavailable
    def layer(self, layer_id: str) -> LayerInfo:
        """One layer; raises ``LayerNotFound``."""
        with self._conn() as conn:
            return self._entry(conn, layer_id).info

    def _reading(self, layer_id: str, read: Callable[[psycopg.Connection[Any], _Catalogued], R]
                 ) -> R:
        """Run ``read`` on the current version; once more if a replace dropped the table
        between reading the catalogue and the data."""
        for attempt in range(3):
            with self._conn() as conn:
                entry = self._vector(conn, layer_id)
                try:
                    return read(conn, entry)
                except errors.UndefinedTable:
                    conn.rollback()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    @staticmethod
    def _select(entry: _Catalogued) -> sql.Composable:
        columns: list[sql.Composable] = [sql.SQL("t.fid"), sql.SQL("ST_AsBinary(t.geom)")]
        columns += [sql.SQL("t.") + sql.Identifier(f.name) for f in entry.info.fields]
        return sql.SQL("SELECT {} FROM {} t").format(sql.SQL(", ").join(columns),
                                                     sql.Identifier(entry.location))

    @staticmethod
    def _page(entry: _Catalogued, rows: list[tuple[Any, ...]]
              ) -> tuple[list[int], Any, list[dict[str, Any]]]:
        ids = [row[0] for row in rows]
        geoms = shapely.from_wkb([row[1] for row in rows])
        names = [f.name for f in entry.info.fields]
        props = [dict(zip(names, row[2:], strict=True)) for row in rows]
        return ids, np.asarray(geoms, dtype=object), props

    @_unavailable
    def item(self, layer_id: str, feature_id: int) -> ItemPage:
        """One feature by fid."""
        def read(conn: psycopg.Connection[Any], entry: _Catalogued) -> ItemPage:
            rows = conn.execute(self._select(entry) + sql.SQL(" WHERE t.fid = %s"),
                                (feature_id,)).fetchall()
            if not rows:
                raise FeatureNotFound(layer_id, feature_id)
            ids, geoms, props = self._page(entry, rows)
            return ItemPage(ids=ids, geometries=geoms, properties=props, number_matched=1,
                            next_after=None)
        return self._reading(layer_id, read)

    @_unavailable
    def items(self, layer_id: str, query: ItemQuery) -> ItemPage:
        """A page in fid order (keyset on fid); numberMatched exact."""
        def read(conn: psycopg.Connection[Any], entry: _Catalogued) -> ItemPage:
            columns = {f.name: f.name for f in entry.info.fields}
            plan = pgfilter.plan(query, columns, unaccent=self.unaccent)
            after = query.after
            offset = query.offset if after is None else 0  # a cursor replaces the offset
            if after is None and not plan.filtered:
                after, offset = offset, 0  # fids run 1..N without gaps
            statement = self._select(entry) + sql.SQL(
                " WHERE t.fid > %s AND {} ORDER BY t.fid LIMIT %s OFFSET %s").format(plan.where)
            rows = conn.execute(statement, (after or 0, *plan.args, query.limit + 1,
                                            offset)).fetchall()
            more = len(rows) > query.limit
            ids, geoms, props = self._page(entry, rows[:query.limit])
            matched: int | None = None
            if query.count:
                if plan.filtered:
                    matched = int(conn.execute(
                        sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(
                            sql.Identifier(entry.location), plan.where),
                        plan.args).fetchone()[0])  # type: ignore[index]
                else:
                    matched = entry.info.feature_count
            return ItemPage(ids=ids, geometries=geoms, properties=props,
                            number_matched=matched,
                            next_after=ids[-1] if more and ids else None)
        return self._reading(layer_id, read)

    @_unavailable
    def vector_tile(self, layer_id: str, tile: TileRequest) -> bytes:
        """An MVT made by PostGIS: features meeting the tile and its buffer, clipped,
        simplified to a tile unit, the smallest left out, the largest kept first."""
        def read(conn: psycopg.Connection[Any], entry: _Catalogued) -> bytes:
            window = mvt.query_bbox_crs84(tile)
            extent = entry.info.bbox
            if not (window[0] <= extent[2] and window[2] >= extent[0]
                    and window[1] <= extent[3] and window[3] >= extent[1]):
                return b""
            limit = mvt.MAX_FEATURES
            while True:
                data = self._mvt(conn, entry, tile, window, limit)
                if len(data) <= mvt.MAX_TILE_BYTES or limit < 2:
                    return data
                count = self._mvt_count(conn, entry, window, limit)
                limit = max(1, int(min(limit, count) * mvt.MAX_TILE_BYTES / len(data) * 0.9))
        return self._reading(layer_id, read)

    @staticmethod
    def _mvt_count(conn: psycopg.Connection[Any], entry: _Catalogued,
                   window: tuple[float, float, float, float], limit: int) -> int:
        row = conn.execute(sql.SQL(
            "SELECT count(*) FROM (SELECT 1 FROM {} t WHERE t.geom && "
            "ST_MakeEnvelope(%s, %s, %s, %s, 4326) LIMIT %s) c").format(
                sql.Identifier(entry.location)), (*window, limit)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _mvt(conn: psycopg.Connection[Any], entry: _Catalogued, tile: TileRequest,
             window: tuple[float, float, float, float], limit: int) -> bytes:
        epsg = int(GRID_EPSG[str(tile.grid.id)].split(":")[1])
        minx, miny, maxx, maxy = mvt.tile_bounds(tile)
        unit = (maxx - minx) / mvt.EXTENT
        pad = mvt.BUFFER * unit
        statement = pgtiles.mvt_statement(entry.location, tuple(f.name for f in entry.info.fields))
        row = conn.execute(statement, {
            "epsg": epsg, "wx0": window[0], "wy0": window[1], "wx1": window[2],
            "wy1": window[3], "min_size": mvt.MIN_FEATURE_UNITS * unit, "limit": limit,
            "min_vertices": mvt.SIMPLIFY_MIN_VERTICES, "unit": mvt.SIMPLIFY_UNITS * unit,
            "x0": minx, "y0": miny, "x1": maxx, "y1": maxy, "extent": mvt.EXTENT,
            "bx0": minx - pad, "by0": miny - pad, "bx1": maxx + pad, "by1": maxy + pad,
            "buffer": mvt.BUFFER, "name": entry.info.id,
            "budget": mvt.MAX_TILE_BYTES}).fetchone()
        return bytes(row[0]) if row and row[0] else b""

    @_unavailable
    def raster_tile(self, layer_id: str, tile: TileRequest) -> bytes:
        """A PNG tile of a raster layer (the COG on disk)."""
        with self._conn() as conn:
            entry = self._entry(conn, layer_id)
        if entry.info.kind is not LayerKind.RASTER:
            raise Problem(f"collection {layer_id!r} is a vector layer: ask for MVT tiles",
                          status=400, title="Not a raster layer")
        return cog.render_tile(self.data_dir / entry.location, tile)

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def _import_lock(self, layer_id: str) -> Iterator[psycopg.Connection[Any]]:
        """A transaction holding the layer's advisory lock (every worker and host sees it),
        or ``Conflict`` when another import or removal of the id holds it."""
        with self._conn() as conn, conn.transaction():
            got = conn.execute(
                "SELECT pg_try_advisory_xact_lock("
                "hashtext('webmap:' || current_schema() || ':' || %s))", (layer_id,)).fetchone()
            if not got or not got[0]:
                raise Conflict(f"layer {layer_id!r} is being imported by another request; "
                               "try again when it has finished")
            yield conn

    @_unavailable
    def import_layer(self, layer_id: str, importer: Importer, *, attribution: str = "",
                     description: str = "") -> ImportReport:
        """In one transaction holding the layer's advisory lock: run the importer, COPY into a
        new table, index, analyse and swap the catalogue row; then drop the old table."""
        check_layer_id(layer_id)
        scratch = self.data_dir / "tmp" / uuid.uuid4().hex
        raster_target: Path | None = None
        old: _Catalogued | None = None
        try:
            with self._import_lock(layer_id) as conn, _collector_paused():
                scratch.mkdir(parents=True)
                layer = importer(scratch)
                version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
                if layer.report.kind is LayerKind.RASTER:
                    assert layer.raster_path is not None  # noqa: S101 - importer contract
                    folder = self.data_dir / "layers" / layer_id
                    folder.mkdir(parents=True, exist_ok=True)
                    raster_target = folder / f"{version}.tif"
                    shutil.move(layer.raster_path, raster_target)
                    location = str(raster_target.relative_to(self.data_dir))
                    fields: tuple[Field, ...] = ()
                else:
                    location = table_name(layer_id, version)
                    fields = self._write_table(conn, location, layer.frame)
                try:
                    old = self._entry(conn, layer_id)
                except LayerNotFound:
                    old = None
                self._put(conn, layer.report, fields=fields, version=version,
                          location=location, attribution=attribution, description=description)
            raster_target = None  # committed: keep it
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if raster_target is not None:
                raster_target.unlink(missing_ok=True)
        if old is not None:
            self._discard(old)
        return layer.report

    @staticmethod
    def _put(conn: psycopg.Connection[Any], report: ImportReport, *, fields: tuple[Field, ...],
             version: str, location: str, attribution: str, description: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute(
            f"INSERT INTO {CATALOGUE} ({COLUMNS}) VALUES"  # noqa: S608
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, title = EXCLUDED.title,"
            " description = EXCLUDED.description, attribution = EXCLUDED.attribution,"
            " source_crs = EXCLUDED.source_crs, minx = EXCLUDED.minx, miny = EXCLUDED.miny,"
            " maxx = EXCLUDED.maxx, maxy = EXCLUDED.maxy,"
            " feature_count = EXCLUDED.feature_count, geometry_type = EXCLUDED.geometry_type,"
            " fields = EXCLUDED.fields, version = EXCLUDED.version,"
            " location = EXCLUDED.location, updated = EXCLUDED.updated",
            (report.layer_id, str(report.kind), report.title, description, attribution,
             report.source_crs, *(float(v) for v in report.bbox), report.feature_count,
             report.geometry_type, json.dumps([[f.name, f.type] for f in fields]), version,
             location, now))

    def _write_table(self, conn: psycopg.Connection[Any], table: str, frame: Any
                     ) -> tuple[Field, ...]:
        """CREATE TABLE, binary COPY, indexes, ANALYZE, all in the caller's transaction."""
        frame = frame.reset_index(drop=True)
        geometry_name = frame.geometry.name
        names = [str(n) for n in frame.columns if n != geometry_name]
        fields = tuple(Field(name, field_type(frame[name])) for name in names)
        types = [_pg_type(frame[f.name], f.type) for f in fields]
        ident = sql.Identifier(table)
        definitions = sql.SQL("").join(
            sql.SQL(", {} {}").format(sql.Identifier(f.name), sql.SQL(t))
            for f, t in zip(fields, types, strict=True))
        conn.execute(sql.SQL("CREATE TABLE {} (fid bigint NOT NULL, "
                             "geom geometry(Geometry, 4326){})").format(ident, definitions))
        # Rows go in along a Z-order curve, fids stay the source order: a tile's or a bbox's
        # features then share heap pages (on the benchmark layer 31 pages instead of 455 for a
        # 500 m box, 14 % less database time per z14 tile); fid-ordered pages read more.
        order = pgcopy.spatial_order(np.asarray(frame.geometry.values, dtype=object))
        frame = frame.take(order)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        try:
            columns = [
                pgcopy.CopyColumn("fid", fixed=(order + 1).astype(">i8")),
                pgcopy.binary_column("geom", shapely.to_wkb(geoms)),
                *(pgcopy.frame_column(f.name, frame[f.name], COPY_TYPES[t])
                  for f, t in zip(fields, types, strict=True))]
            column_list = sql.SQL(", ").join(sql.Identifier(c.name)
                                             for c in pgcopy.ordered(columns))
            # FREEZE: rows are written visible to all, so the first readers need not set hint
            # bits on every page; PostgreSQL allows it only under read committed here.
            isolation = conn.execute("SHOW transaction_isolation").fetchone()
            freeze = sql.SQL(", FREEZE" if isolation == ("read committed",) else "")
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY{})").format(
                ident, column_list, freeze)
            with conn.cursor().copy(statement) as copy:
                for chunk in pgcopy.copy_chunks(columns):
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
        return fields

    @_unavailable
    def remove_layer(self, layer_id: str) -> None:
        """Delete the catalogue row and the table (or COG) in one transaction."""
        with self._import_lock(layer_id) as conn:
            entry = self._entry(conn, layer_id)
            conn.execute(f"DELETE FROM {CATALOGUE} WHERE id = %s", (layer_id,))  # noqa: S608
            if entry.info.kind is LayerKind.VECTOR:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(entry.location)))
        if entry.info.kind is LayerKind.RASTER:
            self._discard(entry)
            shutil.rmtree(self.data_dir / "layers" / layer_id, ignore_errors=True)

    def _discard(self, entry: _Catalogued) -> None:
        """Drop a replaced version (readers that still had its name retry on the new one)."""
        if entry.info.kind is LayerKind.RASTER:
            path = self.data_dir / entry.location
            cog.forget(path)
            path.unlink(missing_ok=True)
            return
        try:
            with self.pool.connection() as conn:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(entry.location)))
        except psycopg.Error as exc:  # the new version is in; an orphan table is harmless
            log.warning("could not drop replaced table %s: %s", entry.location, exc)


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


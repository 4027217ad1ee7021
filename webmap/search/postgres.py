"""Shared search indexes on PostgreSQL: two tables per layer version, listed in a registry."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from ..database import PostgresDatabase
from .index import Entry, Key, LayerChanged, Row, lookup_tiers

log = logging.getLogger("webmap.search")

REGISTRY = "webmap_search_indexes"


class PostgresIndexes:
    """Tables ``search_<hash>_e`` / ``_k`` listed in ``webmap_search_indexes``, shared by every
    worker and host; built and listed in one transaction under an advisory lock."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        self._known: set[str] = set()
        self._building = threading.Lock()
        """One build per process at a time: a builder holds a connection and reads the layer
        through another, so waiting builders must not hold the rest of the pool."""

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        with self.database.connection() as conn:
            yield conn

    def ensure(self, layer_id: str, version: str, spec: str,
               make: Callable[[], tuple[list[Entry], list[Key]]]) -> str:
        """The tables' base name; built, indexed and listed in one transaction."""
        name = "search_" + hashlib.sha256(f"{layer_id}\n{version}\n{spec}".encode()
                                          ).hexdigest()[:24]
        if name in self._known:
            return name
        listed = f"SELECT 1 FROM {REGISTRY} WHERE name = %s"  # noqa: S608
        with self._conn() as conn:
            if conn.execute(listed, (name,)).fetchone():
                self._known.add(name)
                return name
        with self._building, self._conn() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('webmap:search:' || "
                             "current_schema() || ':' || %s))", (layer_id,))
                if conn.execute(listed, (name,)).fetchone():
                    self._known.add(name)
                    return name
                entries, keys = make()
                self._write(conn, name, entries, keys)
                conn.execute(f"INSERT INTO {REGISTRY} VALUES (%s, %s, %s, %s)",  # noqa: S608
                             (name, layer_id, version, spec))
                stale = [r[0] for r in conn.execute(
                    f"DELETE FROM {REGISTRY} WHERE layer_id = %s AND version <> %s"  # noqa: S608
                    " RETURNING name", (layer_id, version))]
            for table in (f"{name}_e", f"{name}_k"):
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
            self._drop(conn, stale)
        self._known.difference_update(stale)
        self._known.add(name)
        return name

    @staticmethod
    def _write(conn: psycopg.Connection[Any], name: str, entries: list[Entry],
               keys: list[Key]) -> None:
        e, k = sql.Identifier(f"{name}_e"), sql.Identifier(f"{name}_k")
        conn.execute(sql.SQL(
            "CREATE TABLE {} (id integer PRIMARY KEY, label text, kind text, lang text,"
            " feature_id bigint, x float8, y float8, minx float8, miny float8, maxx float8,"
            " maxy float8, plen integer, pkey text, num integer, suffix text, rank integer)"
        ).format(e))
        conn.execute(sql.SQL("CREATE TABLE {} (key text COLLATE \"C\", first smallint,"
                             " rank integer, entry integer)").format(k))
        with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(e)) as copy:
            for entry in entries:
                copy.write_row(entry)
        with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(k)) as copy:
            for key in keys:
                copy.write_row(key)
        conn.execute(sql.SQL("CREATE INDEX ON {} (first, key) INCLUDE (rank, entry)").format(k))

    @staticmethod
    def _drop(conn: psycopg.Connection[Any], names: list[str]) -> None:
        for name in names:
            try:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(
                    sql.Identifier(f"{name}_e"), sql.Identifier(f"{name}_k")))
            except psycopg.Error as exc:  # unlisted already: an orphan table is harmless
                log.warning("could not drop search index %s: %s", name, exc)

    def lookup(self, handle: str, key: str, limit: int) -> list[Row]:
        """Query the tables; ``LayerChanged`` if another host dropped them meanwhile."""
        names = {"keys": sql.Identifier(f"{handle}_k"), "entries": sql.Identifier(f"{handle}_e"),
                 "p": sql.SQL("%s")}
        with self._conn() as conn:
            try:
                return lookup_tiers(lambda text, args: conn.execute(
                    sql.SQL(text).format(**names), args).fetchall(), key, limit)
            except psycopg.errors.UndefinedTable as exc:
                self._known.discard(handle)
                raise LayerChanged from exc

    def forget(self, layer_id: str) -> None:
        """Unlist and drop the layer's tables."""
        with self._conn() as conn:
            names = [r[0] for r in conn.execute(
                f"DELETE FROM {REGISTRY} WHERE layer_id = %s RETURNING name",  # noqa: S608
                (layer_id,))]
            self._drop(conn, names)
        self._known.difference_update(names)

    def handles(self, layer_id: str) -> list[str]:
        """The layer's listed indexes."""
        with self._conn() as conn:
            return sorted(r[0] for r in conn.execute(
                f"SELECT name FROM {REGISTRY} WHERE layer_id = %s", (layer_id,)))  # noqa: S608

"""Published maps: the map documents staff publish, in ``maps.sqlite`` or PostgreSQL.

Both backends keep the same layout: ``webmap_maps`` (id, definition as JSON, version,
updated) and a one-row ``webmap_maps_state`` whose ``revision`` goes up in the same transaction
as every publish or removal. Writers take that row first, so they queue and ``created`` is
exact; readers on any worker or host notice a change by reading one number.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ..problems import ServiceUnavailable
from ..settings import Settings
from .migrate import MigratedDatabase
from .sqlite import connect, init_wal_database, sqlite_transaction

TABLE = "webmap_maps"
STATE = "webmap_maps_state"
SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS webmap_maps (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    version TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webmap_maps_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO webmap_maps_state (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
"""
"""The layout of ``migrations/0005_maps.sql``, in SQLite's types."""
SELECT = f"SELECT id, definition, version, updated FROM {TABLE}"  # noqa: S608 - constant names
BUMP = f"UPDATE {STATE} SET revision = revision + 1 WHERE id = 1"  # noqa: S608
UPSERT = (f"INSERT INTO {TABLE} (id, definition, version, updated) VALUES (?, ?, ?, ?) "  # noqa: S608
          "ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, "
          "version = excluded.version, updated = excluded.updated")


@dataclass(frozen=True, kw_only=True)
class StoredMap:
    """A published map as stored: the document staff sent, its digest and when it changed."""

    id: str
    definition: dict[str, Any]
    version: str
    updated: str


class MapStorage(Protocol):
    """Where published maps live: SQLite in the data directory, or PostgreSQL."""

    def revision(self) -> int:
        """A number that changes with every publish or removal."""

    def all(self) -> list[StoredMap]:
        """Every published map, by id."""

    def put(self, map_id: str, definition: Mapping[str, Any]) -> tuple[StoredMap, bool]:
        """Store a map (replacing one of the same id); True when it is new."""

    def delete(self, map_id: str) -> bool:
        """Remove a map; False when there was none."""


def map_version(definition: Mapping[str, Any]) -> str:
    """A digest of the document: changes whenever the definition does (caches key on it)."""
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return str(value)


class _SqlMaps:
    """The statements both backends share; subclasses open transactions and encode JSON."""

    def _transaction(self, *, write: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        return query

    def _encode(self, definition: dict[str, Any]) -> Any:
        return json.dumps(definition, ensure_ascii=False)

    def _decode(self, value: Any) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(value) if isinstance(value, str | bytes) else value
        return decoded

    def _now(self) -> Any:
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    def _row(self, row: Any) -> StoredMap:
        map_id, definition, version, updated = row
        return StoredMap(id=str(map_id), definition=self._decode(definition),
                         version=str(version), updated=_text(updated))

    def revision(self) -> int:
        """The state row's counter."""
        with self._transaction(write=False) as conn:
            row = conn.execute(f"SELECT revision FROM {STATE} WHERE id = 1").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def all(self) -> list[StoredMap]:
        """Every published map, by id."""
        with self._transaction(write=False) as conn:
            rows = conn.execute(f"{SELECT} ORDER BY id").fetchall()
        return [self._row(row) for row in rows]

    def put(self, map_id: str, definition: Mapping[str, Any]) -> tuple[StoredMap, bool]:
        """Upsert after taking the state row, so concurrent writers of one id queue."""
        document = dict(definition)
        version = map_version(document)
        with self._transaction(write=True) as conn:
            conn.execute(BUMP)
            existed = conn.execute(self._sql(f"SELECT 1 FROM {TABLE} WHERE id = ?"),  # noqa: S608
                                   (map_id,)).fetchone() is not None
            conn.execute(self._sql(UPSERT), (map_id, self._encode(document), version,
                                             self._now()))
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (map_id,)).fetchone()
        return self._row(row), not existed

    def delete(self, map_id: str) -> bool:
        """Remove a map and raise the revision, in one transaction."""
        with self._transaction(write=True) as conn:
            removed = conn.execute(self._sql(f"DELETE FROM {TABLE} WHERE id = ?"),  # noqa: S608
                                   (map_id,)).rowcount
            if removed:
                conn.execute(BUMP)
        return bool(removed)


class SqliteMaps(_SqlMaps):
    """Published maps in ``maps.sqlite``: WAL, one short transaction per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        init_wal_database(path, SQLITE_SCHEMA, self._connect)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def _transaction(self, *, write: bool) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_transaction(self._connect, write=write,
                                  unavailable=lambda _exc: _unavailable())


class PostgresMaps(_SqlMaps):
    """Published maps in PostgreSQL (``definition`` is jsonb), on a migrated schema."""

    def __init__(self, database: MigratedDatabase) -> None:
        self.database = database

    def _sql(self, query: str) -> str:
        return query.replace("?", "%s")

    def _encode(self, definition: dict[str, Any]) -> Any:
        return Jsonb(definition)

    def _now(self) -> Any:
        return datetime.now(UTC)

    def _transaction(self, *, write: bool) -> AbstractContextManager[Any]:
        return self.database.transaction()


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("published maps cannot be read or stored right now; try again "
                              "shortly", headers={"Retry-After": "5"})


def open_map_storage(settings: Settings, *, pool: ConnectionPool[Any] | None = None
                     ) -> MapStorage:
    """SQLite in the data directory, or PostgreSQL when ``database_url`` is set (over ``pool``
    when the app has one, else a connection per call)."""
    if settings.database_url:
        migrated = (MigratedDatabase(pool=pool) if pool is not None
                    else MigratedDatabase(conninfo=settings.database_url))
        return PostgresMaps(migrated)
    return SqliteMaps(settings.data_dir / "maps.sqlite")

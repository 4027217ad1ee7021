"""Published maps: the map documents staff publish, in the one database.

``webmap_maps`` (id, definition as JSON, version, updated) and a one-row ``webmap_maps_state``
whose ``revision`` goes up in the same transaction as every publish or removal. Writers take
that row first, so they queue and ``created`` is exact; readers on any worker or host notice a
change by reading one number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..database import Database, json_value, time_text

TABLE = "webmap_maps"
STATE = "webmap_maps_state"
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
    """Where published maps live."""

    def revision(self) -> int:
        """A number that changes with every publish or removal."""

    def all(self) -> list[StoredMap]:
        """Every published map, by id."""

    def put(self, map_id: str, definition: Mapping[str, Any]) -> tuple[StoredMap, bool]:
        """Store a map (replacing one of the same id); True when it is new."""

    def delete(self, map_id: str) -> bool:
        """Remove a map; False when there was none."""

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when published maps cannot be read."""


def map_version(definition: Mapping[str, Any]) -> str:
    """A digest of the document: changes whenever the definition does (caches key on it)."""
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


class MapRepository:
    """Published maps over the database; one short transaction per call."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def _row(row: Any) -> StoredMap:
        map_id, definition, version, updated = row
        return StoredMap(id=str(map_id), definition=json_value(definition),
                         version=str(version), updated=time_text(updated))

    def revision(self) -> int:
        """The state row's counter."""
        with self.database.transaction() as conn:
            row = conn.execute(f"SELECT revision FROM {STATE} WHERE id = 1").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def all(self) -> list[StoredMap]:
        """Every published map, by id."""
        with self.database.transaction() as conn:
            rows = conn.execute(f"{SELECT} ORDER BY id").fetchall()
        return [self._row(row) for row in rows]

    def put(self, map_id: str, definition: Mapping[str, Any]) -> tuple[StoredMap, bool]:
        """Upsert after taking the state row, so concurrent writers of one id queue."""
        db = self.database
        document = dict(definition)
        version = map_version(document)
        with db.transaction(write=True) as conn:
            conn.execute(BUMP)
            existed = conn.execute(db.sql(f"SELECT 1 FROM {TABLE} WHERE id = ?"),  # noqa: S608
                                   (map_id,)).fetchone() is not None
            conn.execute(db.sql(UPSERT), (map_id, db.jsonb(document), version,
                                          db.stamp(datetime.now(UTC))))
            row = conn.execute(db.sql(f"{SELECT} WHERE id = ?"), (map_id,)).fetchone()
        return self._row(row), not existed

    def delete(self, map_id: str) -> bool:
        """Remove a map and raise the revision, in one transaction."""
        db = self.database
        with db.transaction(write=True) as conn:
            removed = conn.execute(db.sql(f"DELETE FROM {TABLE} WHERE id = ?"),  # noqa: S608
                                   (map_id,)).rowcount
            if removed:
                conn.execute(BUMP)
        return bool(removed)

    def ping(self) -> None:
        """The tables answer."""
        self.database.check_table(STATE)
        self.database.check_table(TABLE)

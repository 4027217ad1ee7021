"""Imported plans in the one database: ``webmap_plans`` (id, model, definition, source, updated).

``definition`` is the plan as webmap reads it (``PlanRecord.definition``: metadata, boundary,
general regulations, regulation groups, objects and the ids of its layers); ``source`` the
document it was read from, so an export gives back exactly what was imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..database import Database, json_value, time_text

TABLE = "webmap_plans"
SELECT = f"SELECT id, model, definition, updated FROM {TABLE}"  # noqa: S608 - constant names
UPSERT = (f"INSERT INTO {TABLE} (id, model, definition, source, updated) "  # noqa: S608
          "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET model = excluded.model, "
          "definition = excluded.definition, source = excluded.source, "
          "updated = excluded.updated")


@dataclass(frozen=True, kw_only=True)
class StoredPlan:
    """A plan as stored: its definition and when it was last imported."""

    id: str
    model: str
    definition: dict[str, Any]
    updated: str


class PlanRepository:
    """Plans over the database; one short transaction per call."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def _row(row: Any) -> StoredPlan:
        plan_id, model, definition, updated = row
        return StoredPlan(id=str(plan_id), model=str(model), definition=json_value(definition),
                          updated=time_text(updated))

    def all(self) -> list[StoredPlan]:
        """Every plan, by id."""
        with self.database.transaction() as conn:
            rows = conn.execute(f"{SELECT} ORDER BY id").fetchall()
        return [self._row(row) for row in rows]

    def get(self, plan_id: str) -> StoredPlan | None:
        """One plan, or None."""
        db = self.database
        with db.transaction() as conn:
            row = conn.execute(db.sql(f"{SELECT} WHERE id = ?"), (plan_id,)).fetchone()
        return self._row(row) if row else None

    def source(self, plan_id: str) -> Any:
        """The document a plan was imported from, or None."""
        db = self.database
        with db.transaction() as conn:
            row = conn.execute(db.sql(f"SELECT source FROM {TABLE} WHERE id = ?"),  # noqa: S608
                               (plan_id,)).fetchone()
        return json_value(row[0]) if row else None

    def put(self, plan_id: str, *, model: str, definition: Mapping[str, Any],
            source: Any) -> StoredPlan:
        """Store a plan, replacing one of the same id."""
        db = self.database
        with db.transaction(write=True) as conn:
            conn.execute(db.sql(UPSERT), (plan_id, model, db.jsonb(dict(definition)),
                                          db.jsonb(source), db.stamp(datetime.now(UTC))))
            row = conn.execute(db.sql(f"{SELECT} WHERE id = ?"), (plan_id,)).fetchone()
        return self._row(row)

    def delete(self, plan_id: str) -> bool:
        """Remove a plan; False when there was none."""
        db = self.database
        with db.transaction(write=True) as conn:
            removed = conn.execute(db.sql(f"DELETE FROM {TABLE} WHERE id = ?"),  # noqa: S608
                                   (plan_id,)).rowcount
        return bool(removed)

    def ping(self) -> None:
        """The table answers."""
        self.database.check_table(TABLE)

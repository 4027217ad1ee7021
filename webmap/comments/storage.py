"""Where comments live: ``webmap_comments`` in the one database.

PostgreSQL adds a generated PostGIS column ``geom`` for QGIS. ``UNIQUE (map_id,
idempotency_key)`` is what makes a retried submission land once, however many workers or hosts
race: the insert says ``ON CONFLICT DO NOTHING`` and the loser reads the winner's row in the
same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..database import Database, SqliteDatabase, time_text
from ..problems import ServiceUnavailable
from .service import (
    SNAPSHOT_COLUMNS,
    STATUSES,
    Comment,
    CommentNotFound,
    PurgeReport,
    Submission,
    new_comment_id,
)

log = logging.getLogger("webmap.comments")

TABLE = "webmap_comments"
COLUMNS = ("id", "map_id", "created", "status", "text", "language", "geometry",
           "feature_collection", "feature_id", "name", "email", "idempotency_key",
           *SNAPSHOT_COLUMNS)
SELECT = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"  # noqa: S608 - constant names
INSERT = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608 - constant names
          f"VALUES ({', '.join('?' * len(COLUMNS))}) "
          "ON CONFLICT (map_id, idempotency_key) DO NOTHING RETURNING id")
ID_ATTEMPTS = 5
"""New ids to try when a random id is taken (about 1 in 10^14 per comment)."""
RETRY_AFTER = {"Retry-After": "5"}
PURGE_WHERE = "WHERE map_id = ? AND (name IS NOT NULL OR email IS NOT NULL)"
RESTORE = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608 - constant names
           f"VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT DO NOTHING")


def _comment(row: Sequence[Any]) -> Comment:
    values = dict(zip(COLUMNS, row, strict=True))
    values["created"] = time_text(values["created"])
    return Comment(**values)


class CommentRepository:
    """Comments over the database; one short transaction per call."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _sql(self, query: str) -> str:
        return self.database.sql(query)

    def _created(self, moment: datetime) -> Any:
        return self.database.stamp(moment)

    def add(self, submission: Submission) -> tuple[Comment, bool]:
        """Insert, or return the row already stored under the map's idempotency key."""
        for _ in range(ID_ATTEMPTS):
            comment_id = new_comment_id()
            values = (comment_id, submission.map_id, self._created(datetime.now(UTC)),
                      "pending", submission.text, submission.language, submission.geometry,
                      submission.feature_collection, submission.feature_id, submission.name,
                      submission.email, submission.idempotency_key,
                      *submission.snapshot_values())
            try:
                with self.database.transaction(write=True) as conn:
                    inserted = conn.execute(self._sql(INSERT), values).fetchone()
                    if inserted is None:
                        row = conn.execute(self._sql(f"{SELECT} WHERE map_id = ? AND "
                                                     "idempotency_key = ?"),
                                           (submission.map_id,
                                            submission.idempotency_key)).fetchone()
                        return _comment(row), False
                    row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"),
                                       (comment_id,)).fetchone()
                    return _comment(row), True
            except self.database.integrity_errors:
                continue  # the random id was taken: draw another
        raise ServiceUnavailable("no free comment id was found; try again",
                                 headers=dict(RETRY_AFTER))

    def by_key(self, map_id: str, idempotency_key: str) -> Comment | None:
        """The comment stored under this map's key, if any."""
        with self.database.transaction() as conn:
            row = conn.execute(self._sql(f"{SELECT} WHERE map_id = ? AND idempotency_key = ?"),
                               (map_id, idempotency_key)).fetchone()
        return None if row is None else _comment(row)

    def get(self, comment_id: str) -> Comment:
        """One comment; raises ``CommentNotFound``."""
        with self.database.transaction() as conn:
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (comment_id,)).fetchone()
        if row is None:
            raise CommentNotFound(comment_id)
        return _comment(row)

    def list(self, map_id: str, *, statuses: Sequence[str] = STATUSES) -> list[Comment]:
        """A map's comments with these statuses, oldest first."""
        wanted = [s for s in STATUSES if s in statuses]
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        query = f"{SELECT} WHERE map_id = ? AND status IN ({marks}) ORDER BY created, id"
        with self.database.transaction() as conn:
            rows = conn.execute(self._sql(query), (map_id, *wanted)).fetchall()
        return [_comment(row) for row in rows]

    def set_status(self, comment_id: str, status: str) -> Comment:
        """Moderate a comment; raises ``CommentNotFound``."""
        with self.database.transaction(write=True) as conn:
            changed = conn.execute(self._sql(f"UPDATE {TABLE} SET status = ? WHERE id = ?"),  # noqa: S608
                                   (status, comment_id)).rowcount
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (comment_id,)).fetchone()
        if not changed or row is None:
            raise CommentNotFound(comment_id)
        return _comment(row)

    def purge_personal_data(self, map_id: str) -> PurgeReport:
        """Blank every name and e-mail of a map's comments in one transaction."""
        with self.database.transaction(write=True) as conn:
            comments, names, emails = conn.execute(
                self._sql(f"SELECT COUNT(*), COUNT(name), COUNT(email) FROM {TABLE} "  # noqa: S608
                          f"{PURGE_WHERE}"), (map_id,)).fetchone()
            conn.execute(self._sql(f"UPDATE {TABLE} SET name = NULL, email = NULL "  # noqa: S608
                                   f"{PURGE_WHERE}"), (map_id,))
        if isinstance(self.database, SqliteDatabase):
            self.database.checkpoint()  # no old copy of a purged value stays in the WAL
        return PurgeReport(int(comments), int(names), int(emails))

    def map_ids(self) -> tuple[str, ...]:
        """Every map that has stored comments, by id (maps taken down too)."""
        with self.database.transaction() as conn:
            rows = conn.execute(f"SELECT DISTINCT map_id FROM {TABLE} ORDER BY map_id"  # noqa: S608
                                ).fetchall()
        return tuple(str(row[0]) for row in rows)

    def restore(self, comments: Sequence[Comment]) -> int:
        """Insert comments as they were (ids, times, statuses, personal data) in one
        transaction; those whose id or key is already stored are skipped. Returns how many
        were added."""
        added = 0
        with self.database.transaction(write=True) as conn:
            for c in comments:
                added += conn.execute(self._sql(RESTORE), (
                    c.id, c.map_id, self._created(datetime.fromisoformat(c.created)), c.status,
                    c.text, c.language, c.geometry, c.feature_collection, c.feature_id, c.name,
                    c.email, c.idempotency_key,
                    *(getattr(c, column) for column in SNAPSHOT_COLUMNS))).rowcount
        return added

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the table cannot be read."""
        self.database.check_table(TABLE)



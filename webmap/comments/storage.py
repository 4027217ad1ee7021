"""Where comments live: ``comments.sqlite`` in the data directory, or PostgreSQL beside PostGIS.

Both hold one table ``webmap_comments`` with the same columns; PostgreSQL adds a generated
PostGIS column ``geom`` for QGIS. ``UNIQUE (map_id, idempotency_key)`` is what makes a retried
submission land once, however many workers or hosts race: the insert says ``ON CONFLICT DO
NOTHING`` and the loser reads the winner's row in the same transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ..problems import ServiceUnavailable
from ..settings import Settings
from ..store.migrate import ensure_current
from ..store.sqlite import connect, init_wal_database, sqlite_transaction
from .service import (
    STATUSES,
    Comment,
    CommentNotFound,
    CommentStorage,
    PurgeReport,
    Submission,
    new_comment_id,
)

log = logging.getLogger("webmap.comments")

TABLE = "webmap_comments"
COLUMNS = ("id", "map_id", "created", "status", "text", "language", "geometry",
           "feature_collection", "feature_id", "name", "email", "idempotency_key")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"  # noqa: S608 - constant names
INSERT = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608 - constant names
          f"VALUES ({', '.join('?' * len(COLUMNS))}) "
          "ON CONFLICT (map_id, idempotency_key) DO NOTHING RETURNING id")
ID_ATTEMPTS = 5
"""New ids to try when a random id is taken (about 1 in 10^14 per comment)."""
RETRY_AFTER = {"Retry-After": "5"}

STATUS_CHECK = f"CHECK (status IN ({', '.join(repr(s) for s in STATUSES)}))"
SQLITE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id TEXT PRIMARY KEY,
    map_id TEXT NOT NULL,
    created TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' {STATUS_CHECK},
    text TEXT NOT NULL,
    language TEXT NOT NULL,
    geometry TEXT,
    feature_collection TEXT,
    feature_id TEXT,
    name TEXT,
    email TEXT,
    idempotency_key TEXT,
    UNIQUE (map_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS {TABLE}_map ON {TABLE} (map_id, status, created);
"""
PURGE_WHERE = "WHERE map_id = ? AND (name IS NOT NULL OR email IS NOT NULL)"
RESTORE = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608 - constant names
           f"VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT DO NOTHING")


def _comment(row: Sequence[Any]) -> Comment:
    values = dict(zip(COLUMNS, row, strict=True))
    created = values["created"]
    if isinstance(created, datetime):
        values["created"] = created.astimezone(UTC).isoformat(timespec="milliseconds")
    return Comment(**values)


def _unavailable(exc: Exception) -> ServiceUnavailable:
    log.warning("comment storage unavailable: %s", type(exc).__name__)
    return ServiceUnavailable("comments cannot be stored or read right now; try again shortly",
                              headers=dict(RETRY_AFTER))


class _SqlComments:
    """The statements both backends share; subclasses open transactions and bind values."""

    integrity_errors: tuple[type[Exception], ...] = ()

    def _transaction(self, *, write: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        return query

    def _created(self, moment: datetime) -> Any:
        return moment

    def add(self, submission: Submission) -> tuple[Comment, bool]:
        """Insert, or return the row already stored under the map's idempotency key."""
        for _ in range(ID_ATTEMPTS):
            comment_id = new_comment_id()
            values = (comment_id, submission.map_id, self._created(datetime.now(UTC)),
                      "pending", submission.text, submission.language, submission.geometry,
                      submission.feature_collection, submission.feature_id, submission.name,
                      submission.email, submission.idempotency_key)
            try:
                with self._transaction(write=True) as conn:
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
            except self.integrity_errors:
                continue  # the random id was taken: draw another
        raise ServiceUnavailable("no free comment id was found; try again",
                                 headers=dict(RETRY_AFTER))

    def by_key(self, map_id: str, idempotency_key: str) -> Comment | None:
        """The comment stored under this map's key, if any."""
        with self._transaction(write=False) as conn:
            row = conn.execute(self._sql(f"{SELECT} WHERE map_id = ? AND idempotency_key = ?"),
                               (map_id, idempotency_key)).fetchone()
        return None if row is None else _comment(row)

    def get(self, comment_id: str) -> Comment:
        """One comment; raises ``CommentNotFound``."""
        with self._transaction(write=False) as conn:
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
        with self._transaction(write=False) as conn:
            rows = conn.execute(self._sql(query), (map_id, *wanted)).fetchall()
        return [_comment(row) for row in rows]

    def set_status(self, comment_id: str, status: str) -> Comment:
        """Moderate a comment; raises ``CommentNotFound``."""
        with self._transaction(write=True) as conn:
            changed = conn.execute(self._sql(f"UPDATE {TABLE} SET status = ? WHERE id = ?"),  # noqa: S608
                                   (status, comment_id)).rowcount
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (comment_id,)).fetchone()
        if not changed or row is None:
            raise CommentNotFound(comment_id)
        return _comment(row)

    def purge_personal_data(self, map_id: str) -> PurgeReport:
        """Blank every name and e-mail of a map's comments in one transaction."""
        with self._transaction(write=True) as conn:
            comments, names, emails = conn.execute(
                self._sql(f"SELECT COUNT(*), COUNT(name), COUNT(email) FROM {TABLE} "  # noqa: S608
                          f"{PURGE_WHERE}"), (map_id,)).fetchone()
            conn.execute(self._sql(f"UPDATE {TABLE} SET name = NULL, email = NULL "  # noqa: S608
                                   f"{PURGE_WHERE}"), (map_id,))
        return PurgeReport(int(comments), int(names), int(emails))

    def map_ids(self) -> tuple[str, ...]:
        """Every map that has stored comments, by id (maps taken down too)."""
        with self._transaction(write=False) as conn:
            rows = conn.execute(f"SELECT DISTINCT map_id FROM {TABLE} ORDER BY map_id"  # noqa: S608
                                ).fetchall()
        return tuple(str(row[0]) for row in rows)

    def restore(self, comments: Sequence[Comment]) -> int:
        """Insert comments as they were (ids, times, statuses, personal data) in one
        transaction; those whose id or key is already stored are skipped. Returns how many
        were added."""
        added = 0
        with self._transaction(write=True) as conn:
            for c in comments:
                added += conn.execute(self._sql(RESTORE), (
                    c.id, c.map_id, self._created(datetime.fromisoformat(c.created)), c.status,
                    c.text, c.language, c.geometry, c.feature_collection, c.feature_id, c.name,
                    c.email, c.idempotency_key)).rowcount
        return added

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the table cannot be read."""
        with self._transaction(write=False) as conn:
            conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchall()  # noqa: S608


class SqliteComments(_SqlComments):
    """Comments in ``comments.sqlite``: WAL, one short transaction per call, secure delete."""

    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: Path) -> None:
        self.path = path
        init_wal_database(path, SQLITE_SCHEMA, self._connect)

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path)
        # Purged names and e-mails are overwritten on disk, not merely unlinked.
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    def _created(self, moment: datetime) -> Any:
        return moment.isoformat(timespec="milliseconds")

    def _transaction(self, *, write: bool) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_transaction(self._connect, write=write, unavailable=_unavailable)

    def purge_personal_data(self, map_id: str) -> PurgeReport:
        """Blank names and e-mails, then fold the WAL into the file so no old copy remains."""
        report = super().purge_personal_data(map_id)
        conn = self._connect()
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return report


class PostgresComments(_SqlComments):
    """Comments in PostgreSQL through a psycopg pool (the PostGIS store's, when there is one)."""

    integrity_errors = (psycopg.errors.UniqueViolation,)

    def __init__(self, pool: ConnectionPool, *, owns_pool: bool = False) -> None:
        self.pool = pool
        self.owns_pool = owns_pool
        self._ready = False

    @classmethod
    def connect(cls, database_url: str) -> PostgresComments:
        """Comments over a small pool of their own (the CLI's case)."""
        pool: ConnectionPool = ConnectionPool(
            database_url, min_size=1, max_size=2, open=True, name="webmap-comments",
            kwargs={"application_name": "webmap", "autocommit": True})
        return cls(pool, owns_pool=True)

    def close(self) -> None:
        """Close the pool if it is ours."""
        if self.owns_pool:
            self.pool.close()

    def _sql(self, query: str) -> str:
        return query.replace("?", "%s")

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self.pool.connection() as conn:
            ensure_current(conn)  # the table is migration 0002
        self._ready = True

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[psycopg.Connection[Any]]:
        try:
            self._ensure_schema()
            with self.pool.connection() as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise _unavailable(exc) from exc


def open_storage(settings: Settings, *, pool: ConnectionPool | None = None) -> CommentStorage:
    """SQLite in the data directory, or PostgreSQL when ``database_url`` is set."""
    if settings.database_url:
        if pool is not None:
            return PostgresComments(pool)
        return PostgresComments.connect(settings.database_url)
    return SqliteComments(settings.data_dir / "comments.sqlite")


def close_storage(storage: CommentStorage) -> None:
    """Release what ``open_storage`` opened (a pool of its own)."""
    close = getattr(storage, "close", None)
    if close is not None:
        close()

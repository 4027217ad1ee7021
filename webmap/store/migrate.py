"""Numbered SQL migrations for PostgreSQL, and the pool webmap's own tables are reached through.

``migrations/NNNN_name.sql`` run in order, each in its own transaction, and are recorded in
``webmap_migrations (version, name, applied)``. They are the only place webmap's tables are
defined: the PostGIS store, the comments, the search index, tokens and maps each call
``ensure_current`` on first use, which costs one query once the schema is current. Every file
is idempotent (``IF NOT EXISTS``), so a database made before migrations were recorded is
brought under them without change. A session advisory lock makes two hosts (or workers)
migrating at once safe: the second waits, then finds nothing left to do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool, PoolTimeout

from ..problems import Problem, ServiceUnavailable

log = logging.getLogger("webmap.migrate")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
TABLE = "webmap_migrations"
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied timestamptz NOT NULL DEFAULT now()
)
"""
LOCK = "webmap:migrate:"
"""Advisory lock key prefix; the schema name completes it, so test schemas do not wait."""
RETRY_AFTER = {"Retry-After": "5"}


class MigrationError(Problem):
    """The migration files or a migration's SQL cannot be used; names the file."""

    status = 500
    title = "Migration failed"


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    path: Path

    @property
    def label(self) -> str:
        """``0003_search``: the file name without ``.sql``."""
        return f"{self.version:04d}_{self.name}"

    def sql(self) -> str:
        """The file's statements."""
        return self.path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class MigrationStatus:
    """A migration and when it ran (None: pending); ``known`` is False for a version recorded
    by a newer webmap than this one."""

    version: int
    name: str
    applied: datetime | None
    known: bool = True

    @property
    def label(self) -> str:
        """``0003_search``."""
        return f"{self.version:04d}_{self.name}"


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; numbers must run 1, 2, 3… without gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: name migration files NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"{migration.path.name}: expected migration {expected:04d} "
                                 "here; numbers run 1, 2, 3… without gaps or repeats")
    return found


def _recorded(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, datetime]]:
    """Versions recorded as applied (empty when the table does not exist yet)."""
    row = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()
    if row is None or row[0] is None:
        return {}
    rows = conn.execute(f"SELECT version, name, applied FROM {TABLE} ORDER BY version"  # noqa: S608
                        ).fetchall()
    return {int(version): (str(name), applied) for version, name, applied in rows}


def status(conn: psycopg.Connection[Any], *, directory: Path = MIGRATIONS_DIR
           ) -> list[MigrationStatus]:
    """Every known migration with when it ran, then any recorded version this webmap lacks."""
    recorded = _recorded(conn)
    known = migrations(directory)
    result = [MigrationStatus(m.version, m.name, recorded.get(m.version, (m.name, None))[1])
              for m in known]
    result += [MigrationStatus(version, name, applied, known=False)
               for version, (name, applied) in recorded.items() if version > len(known)]
    return result


def is_current(conn: psycopg.Connection[Any], *, directory: Path = MIGRATIONS_DIR) -> bool:
    """Whether every known migration has run (one cheap query when it has)."""
    recorded = _recorded(conn)
    return all(m.version in recorded for m in migrations(directory))


def upgrade(conn: psycopg.Connection[Any], *, target: int | None = None,
            directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations up to ``target`` (default: all); returns those that ran.

    ``conn`` must be in autocommit mode: each migration is its own transaction, so one that
    fails leaves the earlier ones recorded and nothing of itself.
    """
    if not conn.autocommit:
        raise MigrationError("migrations need a connection in autocommit mode")
    wanted = [m for m in migrations(directory) if target is None or m.version <= target]
    conn.execute("SELECT pg_advisory_lock(hashtext(%s || current_schema()))", (LOCK,))
    try:
        with conn.transaction():
            conn.execute(CREATE_TABLE)
        done = _recorded(conn)
        ran: list[Migration] = []
        for migration in wanted:
            if migration.version in done:
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.sql().encode("utf-8"))
                    conn.execute(f"INSERT INTO {TABLE} (version, name) VALUES (%s, %s)",  # noqa: S608
                                 (migration.version, migration.name))
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                message = exc.diag.message_primary or type(exc).__name__
                raise MigrationError(f"{migration.path.name}: {message}") from exc
            log.info("applied migration %s", migration.label)
            ran.append(migration)
        return ran
    finally:
        if not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s || current_schema()))", (LOCK,))


def ensure_current(conn: psycopg.Connection[Any]) -> None:
    """Run the pending migrations, if any (``conn`` in autocommit mode)."""
    if not is_current(conn):
        upgrade(conn)


class MigratedDatabase:
    """Connections to PostgreSQL on a schema brought up to date before first use: from a pool
    (the PostGIS store's), or one short connection per transaction (the CLI's case, which
    leaves nothing open). A lost database becomes ``ServiceUnavailable`` (503)."""

    CONNECT_TIMEOUT_S = 10

    def __init__(self, *, pool: ConnectionPool[Any] | None = None,
                 conninfo: str | None = None) -> None:
        if (pool is None) == (conninfo is None):
            raise ValueError("give either a pool or a conninfo")
        self.pool = pool
        self.conninfo = conninfo
        self._ready = False

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self.pool is not None:
            with self.pool.connection() as conn:
                yield conn
            return
        with psycopg.connect(str(self.conninfo), autocommit=True, application_name="webmap",
                             connect_timeout=self.CONNECT_TIMEOUT_S) as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection inside a transaction, on a schema at the latest migration."""
        try:
            with self._connection() as conn:
                if not self._ready:
                    ensure_current(conn)
                    self._ready = True
                with conn.transaction():
                    yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise ServiceUnavailable("the database cannot be reached; try again shortly",
                                     headers=dict(RETRY_AFTER)) from exc

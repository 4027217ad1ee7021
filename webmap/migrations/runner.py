"""Applying the numbered migrations: PostgreSQL under an advisory lock, SQLite under a lock file.

The callers are ``database.PostgresDatabase`` and ``database.SqliteDatabase``, which hand in
connections; nothing here opens one.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq

from . import Migration, MigrationError, MigrationStatus, directory, migrations, statements

log = logging.getLogger("webmap.migrate")

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


# -- PostgreSQL ---------------------------------------------------------------------------

def _recorded(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, datetime]]:
    """Versions recorded as applied (empty when the table does not exist yet)."""
    # Only the current schema counts: a webmap_migrations table further down the search path
    # (say in ``public``) records another installation's schema, not this one's.
    row = conn.execute("SELECT to_regclass(format('%%I.%%I', current_schema(), %s::text))::text",
                       (TABLE,)).fetchone()
    if row is None or row[0] is None:
        return {}
    rows = conn.execute(f"SELECT version, name, applied FROM {row[0]} ORDER BY version"  # noqa: S608
                        ).fetchall()
    return {int(version): (str(name), applied) for version, name, applied in rows}


def postgres_status(conn: psycopg.Connection[Any], *, folder: Path | None = None
                    ) -> list[MigrationStatus]:
    """Every known migration with when it ran, then any recorded version this webmap lacks."""
    recorded = _recorded(conn)
    known = migrations(folder or directory("postgres"))
    result = [MigrationStatus(m.version, m.name, recorded[m.version][1] if m.version in recorded
                              else None, done=m.version in recorded) for m in known]
    result += [MigrationStatus(version, name, applied, done=True, known=False)
               for version, (name, applied) in recorded.items() if version > len(known)]
    return result


def postgres_is_current(conn: psycopg.Connection[Any], *, folder: Path | None = None) -> bool:
    """Whether every known migration has run (one cheap query when it has)."""
    recorded = _recorded(conn)
    return all(m.version in recorded for m in migrations(folder or directory("postgres")))


def postgres_upgrade(conn: psycopg.Connection[Any], *, target: int | None = None,
                     folder: Path | None = None) -> list[Migration]:
    """Apply the pending migrations up to ``target`` (default: all); returns those that ran.

    ``conn`` must be in autocommit mode: each migration is its own transaction, so one that
    fails leaves the earlier ones recorded and nothing of itself.
    """
    if not conn.autocommit:
        raise MigrationError("migrations need a connection in autocommit mode")
    wanted = [m for m in migrations(folder or directory("postgres"))
              if target is None or m.version <= target]
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


# -- SQLite --------------------------------------------------------------------------------

def sqlite_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file's header."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def sqlite_status(conn: sqlite3.Connection, *, folder: Path | None = None
                  ) -> list[MigrationStatus]:
    """Every known migration and whether it ran (SQLite records no times)."""
    version = sqlite_version(conn)
    known = migrations(folder or directory("sqlite"))
    result = [MigrationStatus(m.version, m.name, None, done=m.version <= version)
              for m in known]
    result += [MigrationStatus(v, "unknown", None, done=True, known=False)
               for v in range(len(known) + 1, version + 1)]
    return result


Adopt = Callable[[sqlite3.Connection], None]
"""Copies an older installation's rows into freshly made tables, inside the transaction."""


def sqlite_upgrade(connect: Callable[[], sqlite3.Connection], lock_path: Path, *,
                   target: int | None = None, folder: Path | None = None,
                   adopt: tuple[int, Adopt] | None = None) -> list[Migration]:
    """Apply the pending migrations up to ``target`` under an exclusive lock file.

    ``adopt`` is ``(version, copy)``: on a new file, the migrations up to ``version`` and
    ``copy`` run in ONE transaction, so an older layout's rows are either all brought over
    with the tables that hold them, or the file stays empty and the next start tries again.
    """
    wanted = [m for m in migrations(folder or directory("sqlite"))
              if target is None or m.version <= target]
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        conn = connect()
        try:
            current = sqlite_version(conn)
            pending = [m for m in wanted if m.version > current]
            ran: list[Migration] = []
            if adopt is not None and current == 0 and pending:
                upto, copy = adopt
                first = [m for m in pending if m.version <= upto]
                _sqlite_apply(conn, first, after=copy)
                ran += first
                pending = [m for m in pending if m.version > upto]
            for migration in pending:
                _sqlite_apply(conn, [migration])
                ran.append(migration)
            return ran
        finally:
            conn.close()


def _sqlite_apply(conn: sqlite3.Connection, batch: list[Migration], *,
                  after: Adopt | None = None) -> None:
    """Run a batch of migrations (and ``after``) in one transaction, then record the version."""
    if not batch:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for migration in batch:
            try:
                for statement in statements(migration.sql()):
                    conn.execute(statement)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "disk" in str(exc):
                    raise
                raise MigrationError(f"{migration.path.name}: {exc}") from exc
            except sqlite3.Error as exc:
                raise MigrationError(f"{migration.path.name}: {exc}") from exc
        if after is not None:
            after(conn)
        conn.execute(f"PRAGMA user_version = {int(batch[-1].version)}")
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    for migration in batch:
        log.info("applied migration %s", migration.label)

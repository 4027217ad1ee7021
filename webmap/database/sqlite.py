"""The embedded database: ``DATA_DIR/webmap.sqlite`` in WAL mode, the service's file alone."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..migrations import Dialect, Migration, MigrationStatus, legacy, runner
from .base import FILE_NAME, PRIVATE_FILE_MODE, Breaker, Database, make_private_dir

BUSY_TIMEOUT_S = 30.0
"""How long a SQLite statement waits for another process's write before it fails."""

class SqliteDatabase(Database):
    """``DATA_DIR/webmap.sqlite`` in WAL mode: readers never wait for the one writer, every
    transaction is short and on its own connection, and the file is the service's alone."""

    dialect: Dialect = "sqlite"
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, data_dir: Path, *, migrate: bool = True) -> None:
        self.data_dir = data_dir
        self.path = data_dir / FILE_NAME
        self.breaker = Breaker()
        self._local = threading.local()
        make_private_dir(data_dir)
        self._create_private()
        if migrate:
            self.migrate()

    def _create_private(self) -> None:
        """Create the file 0600 before SQLite does (its WAL and shm take the same mode)."""
        with suppress(FileExistsError):
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             PRIVATE_FILE_MODE))

    def _connect_wal(self) -> sqlite3.Connection:
        """A connection that has set WAL (kept by the file). Switching a new file to WAL takes
        an exclusive lock that SQLite may refuse at once when another process is doing the
        same, so this runs only under the migration lock."""
        conn = self.connect()
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def connect(self) -> sqlite3.Connection:
        """A new autocommit connection (transactions are explicit); purged values are
        overwritten on disk, not merely unlinked."""
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    def reader(self) -> sqlite3.Connection:
        """This thread's long-lived connection for hot reads (the catalogue)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connect()
        return conn

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One short transaction (IMMEDIATE when writing) on a new connection, always closed;
        a lock or I/O failure becomes a 503."""
        try:
            conn = self.connect()
        except sqlite3.Error as exc:
            raise self.breaker.lost(exc) from exc
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self.breaker.lost(exc) from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        self.breaker.found()

    def checkpoint(self) -> None:
        """Fold the WAL into the file and empty it (after a purge: no old copy remains)."""
        conn = self.connect()
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def migrate(self, *, target: int | None = None) -> list[Migration]:
        """Apply pending migrations; a new file first takes in an older layout's files."""
        found = legacy.present(self.data_dir)
        adopt = (legacy.LAYOUT_VERSION, legacy.copier(self.data_dir, found)) if found else None
        ran = runner.sqlite_upgrade(self._connect_wal, self.path.with_name(FILE_NAME + ".lock"),
                                    target=target, adopt=adopt)
        if found and ran and ran[0].version == 1:
            legacy.remove(self.data_dir, found)
        return ran

    def status(self) -> list[MigrationStatus]:
        """Every migration and whether it ran (``PRAGMA user_version``)."""
        conn = self.connect()
        try:
            return runner.sqlite_status(conn)
        finally:
            conn.close()

    def close(self) -> None:
        """Close this thread's reader (others close with their threads)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None



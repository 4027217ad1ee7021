"""A rate-limit store every worker of one host shares without a server: one SQLite file.

Used when ``WEBMAP_REDIS_URL`` is not set. Counters live in fixed windows; each hit is one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (atomic in SQLite), so two workers counting
the same client see one count. The file (``DATA_DIR/ratelimits.sqlite``) holds only
counters that expire within the hour: it is safe to delete while the service is stopped and
needs no migration. Keys hold client addresses, so the file is private (0600).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage

SCHEME = "webmap+sqlite"
FILE_NAME = "ratelimits.sqlite"
PURGE_SHARE = 0.02
"""Share of hits that also delete expired counters."""

SCHEMA = """CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL) WITHOUT ROWID"""
INCR = """INSERT INTO counters (key, count, expires) VALUES (:key, :amount, :now + :expiry)
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN expires <= :now THEN excluded.count ELSE count + excluded.count END,
        expires = CASE WHEN expires <= :now THEN excluded.expires ELSE expires END
    RETURNING count"""


def storage_uri(data_dir: Path) -> str:
    """The ``limits`` storage URI of the shared file in ``data_dir``."""
    return f"{SCHEME}://{(Path(data_dir) / FILE_NAME).resolve()}"


class SqliteStorage(Storage):
    """``limits`` storage over a SQLite file (fixed-window strategy only)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if not uri or not uri.startswith(SCHEME + "://"):
            raise ValueError(f"give {SCHEME}:///path/to/file.sqlite")
        self.path = Path(uri[len(SCHEME) + 3:])
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What a failing store raises."""
        return (sqlite3.Error, OSError)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # counters: losing the last few is harmless
        conn.execute(SCHEMA)
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to ``key``'s window (a new window once the old one expired)."""
        now = time.time()
        conn = self._conn()
        row = conn.execute(INCR, {"key": key, "amount": amount, "now": now,
                                  "expiry": float(expiry)}).fetchone()
        if random.random() < PURGE_SHARE:  # noqa: S311 - housekeeping, not security
            conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        """The count in ``key``'s current window."""
        row = self._conn().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When ``key``'s window ends (epoch seconds)."""
        now = time.time()
        row = self._conn().execute("SELECT expires FROM counters WHERE key = ? AND expires > ?",
                                   (key, now)).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Whether the file answers."""
        try:
            self._conn().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter."""
        cursor = self._conn().execute("DELETE FROM counters")
        return int(cursor.rowcount)

    def clear(self, key: str) -> None:
        """Forget ``key``'s counter."""
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))

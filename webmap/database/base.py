"""What every repository sees of the database, whichever dialect serves it: transactions,
the dialect's SQL, migrations, health, and the one availability breaker."""

from __future__ import annotations

import json
import logging
import sqlite3
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ..migrations import Dialect, Migration, MigrationStatus
from ..problems import ServiceUnavailable

log = logging.getLogger("webmap.database")

RETRY_AFTER_S = 5
FILE_NAME = "webmap.sqlite"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("the database cannot be reached; try again shortly",
                              headers={"Retry-After": str(RETRY_AFTER_S)})


class Breaker:
    """Whether the database is known to be down: set by a failure, cleared by a success."""

    def __init__(self) -> None:
        self.down = False

    def lost(self, exc: BaseException) -> ServiceUnavailable:
        """Note a failure for want of the database; the problem to raise."""
        text = str(exc).strip()
        log.warning("database unavailable: %s", text.splitlines()[0] if text
                    else type(exc).__name__)
        self.down = True
        return _unavailable()

    def found(self) -> bool:
        """Note a success; True when the database had been down."""
        was_down, self.down = self.down, False
        if was_down:
            log.warning("database reachable again")
        return was_down


def make_private_dir(path: Path) -> Path:
    """A folder only the service may read (0700 when webmap creates it)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    return path


class Database(ABC):
    """What every repository needs: transactions, the dialect's SQL, migrations, health."""

    dialect: Dialect
    integrity_errors: tuple[type[Exception], ...]
    breaker: Breaker

    @abstractmethod
    def transaction(self, *, write: bool = False) -> Any:
        """A context manager: a connection inside a transaction on a current schema."""

    @abstractmethod
    def migrate(self, *, target: int | None = None) -> list[Migration]:
        """Apply the pending migrations (up to ``target``); those that ran."""

    @abstractmethod
    def status(self) -> list[MigrationStatus]:
        """Every migration and whether (and when) it ran."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def sql(self, query: str) -> str:
        """``query`` with ``?`` placeholders in this dialect."""
        return query

    def stamp(self, moment: datetime, *, timespec: str = "milliseconds") -> Any:
        """A time as this dialect stores it."""
        return moment.astimezone(UTC).isoformat(timespec=timespec)

    def jsonb(self, value: Any) -> Any:
        """A JSON document as this dialect stores it."""
        return json.dumps(value, ensure_ascii=False)

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the database does not answer."""
        with self.transaction() as conn:
            conn.execute("SELECT 1").fetchone()

    def check_table(self, table: str) -> None:
        """Raise ``ServiceUnavailable`` unless ``table`` can be read (``/readyz``)."""
        try:
            with self.transaction() as conn:
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()  # noqa: S608
        except (sqlite3.Error, psycopg.Error) as exc:
            log.error("table %s cannot be read: %s", table, type(exc).__name__)
            raise ServiceUnavailable(f"table {table} cannot be read",
                                     headers={"Retry-After": str(RETRY_AFTER_S)}) from exc


def time_text(value: Any, *, timespec: str = "milliseconds") -> str:
    """A stored time as ISO 8601 text in UTC, whichever dialect stored it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec=timespec)
    return str(value)


def json_value(value: Any) -> Any:
    """A stored JSON document decoded, whichever dialect stored it."""
    return json.loads(value) if isinstance(value, str | bytes) else value

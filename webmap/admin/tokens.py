"""Staff tokens: shown once at creation, stored only as SHA-256 hashes, revocable by name.

One interface, two backends: ``staff_tokens`` in ``staff.sqlite`` in the data directory, or
``webmap_tokens`` in PostgreSQL when ``WEBMAP_DATABASE_URL`` is set, so every worker and host
accepts the same tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool

from ..problems import Conflict, NotFound, Problem
from ..settings import Settings
from ..store.migrate import MigratedDatabase
from ..store.sqlite import connect, init_wal_database

TOKEN_BYTES = 32
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    revoked TEXT
);
"""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the secret itself."""

    name: str
    created: str
    revoked: str | None


class Tokens(Protocol):
    """Token records; both backends behave the same."""

    def create(self, name: str) -> str:
        """A new token for ``name``; the only time the secret is ever shown."""

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones too, by name."""

    def revoke(self, name: str) -> None:
        """Stop a token from working; raises ``NotFound`` when no active one has the name."""

    def verify(self, token: str) -> str | None:
        """The name of the active token, or None."""


def _hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _text(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return None if value is None else str(value)


class _SqlTokens:
    """The statements both backends share; subclasses name the table and open transactions."""

    table = "staff_tokens"
    integrity_errors: tuple[type[Exception], ...] = ()

    def _transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        return query.replace("{table}", self.table)

    def _now(self) -> Any:
        return datetime.now(UTC).isoformat(timespec="seconds")

    def create(self, name: str) -> str:
        """A new token for ``name``; the only time the secret is ever shown."""
        if not NAME_RE.match(name):
            raise Problem("a token name is 1-64 letters, digits, spaces or . _ @ -")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        try:
            with self._transaction() as conn:
                conn.execute(self._sql("INSERT INTO {table} (name, token_hash, created) "
                                       "VALUES (?, ?, ?)"), (name, _hash(token), self._now()))
        except self.integrity_errors:
            raise Conflict(f"a token named {name!r} exists; revoke it or pick another name"
                           ) from None
        return token

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones too, by name."""
        with self._transaction() as conn:
            rows = conn.execute(self._sql("SELECT name, created, revoked FROM {table} "
                                          "ORDER BY name")).fetchall()
        return [TokenInfo(str(name), _text(created) or "", _text(revoked))
                for name, created, revoked in rows]

    def revoke(self, name: str) -> None:
        """Stop a token from working; the record stays for the audit trail."""
        with self._transaction() as conn:
            changed = conn.execute(self._sql("UPDATE {table} SET revoked = ? WHERE name = ? "
                                             "AND revoked IS NULL"),
                                   (self._now(), name)).rowcount
        if not changed:
            raise NotFound(f"there is no active token named {name!r}")

    def verify(self, token: str) -> str | None:
        """The name of the active token, or None."""
        if not token or len(token) > 256:
            return None
        with self._transaction() as conn:
            row = conn.execute(self._sql("SELECT name FROM {table} WHERE token_hash = ? AND "
                                         "revoked IS NULL"), (_hash(token),)).fetchone()
        return None if row is None else str(row[0])


class SqliteTokens(_SqlTokens):
    """Token records in ``staff.sqlite`` in the data directory."""

    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: Path) -> None:
        self.path = path
        init_wal_database(path, SCHEMA, self._connect)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn  # autocommit: each statement is its own transaction
        finally:
            conn.close()


class PostgresTokens(_SqlTokens):
    """Token records in PostgreSQL's ``webmap_tokens``, on a migrated schema."""

    table = "webmap_tokens"
    integrity_errors = (psycopg.errors.UniqueViolation,)

    def __init__(self, database: MigratedDatabase) -> None:
        self.database = database

    def _sql(self, query: str) -> str:
        return super()._sql(query).replace("?", "%s")

    def _now(self) -> Any:
        return datetime.now(UTC).replace(microsecond=0)

    def _transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()


def open_tokens(settings: Settings, *, pool: ConnectionPool[Any] | None = None) -> Tokens:
    """``staff.sqlite`` in the data directory, or PostgreSQL when ``database_url`` is set
    (over ``pool`` when the app has one, else a connection per call)."""
    if settings.database_url:
        migrated = (MigratedDatabase(pool=pool) if pool is not None
                    else MigratedDatabase(conninfo=settings.database_url))
        return PostgresTokens(migrated)
    return SqliteTokens(settings.data_dir / "staff.sqlite")


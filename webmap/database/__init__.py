"""One database per deployment: a SQLite file in the data directory, or one PostgreSQL pool.

Every repository (layers' catalogue, comments, tokens, published maps, search registry) is
built over the one ``Database`` that ``open_database`` chose, and writes its SQL once with
``?`` placeholders (``Database.sql`` turns them into the dialect's). The database owns the
schema (``migrations``) and one availability breaker: a lost database becomes
``ServiceUnavailable`` (503 with ``Retry-After``) for every caller alike, and while it is down
requests fail fast instead of waiting for connections. ``base`` is what both dialects share,
``sqlite`` and ``postgres`` the two.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    FILE_NAME,
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    RETRY_AFTER_S,
    Breaker,
    Database,
    json_value,
    make_private_dir,
    time_text,
)
from .postgres import PostgresDatabase
from .sqlite import SqliteDatabase

__all__ = ["FILE_NAME", "PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "RETRY_AFTER_S", "Breaker",
           "Database", "PostgresDatabase", "SqliteDatabase", "json_value", "make_private_dir",
           "open_database", "time_text"]


def open_database(*, data_dir: Path, database_url: str | None, pool_size: int = 8,
                  migrate: bool = True) -> Database:
    """PostgreSQL when ``database_url`` is set, else the SQLite file in ``data_dir``: the one
    place the choice is made. ``migrate=False`` leaves the schema as it is (``db status``)."""
    if database_url:
        if not database_url.startswith(("postgresql://", "postgres://")):
            raise SystemExit("WEBMAP_DATABASE_URL must be a postgresql://… URL")
        return PostgresDatabase(database_url, max_size=pool_size, migrate=migrate)
    return SqliteDatabase(data_dir, migrate=migrate)


"""Numbered schema migrations for both dialects, and the one runner that applies them.

``sqlite/NNNN_name.sql`` and ``postgres/NNNN_name.sql`` are the only place webmap's tables are
defined. Both folders hold the same numbers and names (a migration that one dialect does not
need is a commented no-op there), so "migration 6" means the same change everywhere. Each
migration runs in its own transaction. PostgreSQL records them in ``webmap_migrations`` under
an advisory lock; SQLite keeps the version in ``PRAGMA user_version`` under a lock file, so
workers and hosts starting together take turns and the second finds nothing left to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from ..problems import Problem

Dialect = Literal["sqlite", "postgres"]
DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgres")
ROOT = Path(__file__).parent
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


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
    """A migration and when it ran (None: pending; SQLite knows only that it ran, not when);
    ``known`` is False for a version recorded by a newer webmap than this one."""

    version: int
    name: str
    applied: datetime | None
    done: bool
    known: bool = True

    @property
    def label(self) -> str:
        """``0003_search``."""
        return f"{self.version:04d}_{self.name}"


def directory(dialect: Dialect) -> Path:
    """The folder of a dialect's migration files."""
    return ROOT / dialect


def migrations(folder: Path) -> list[Migration]:
    """The migration files in version order; numbers must run 1, 2, 3… without gaps."""
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: name migration files NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"{migration.path.name}: expected migration {expected:04d} "
                                 "here; numbers run 1, 2, 3… without gaps or repeats")
    return found


def statements(script: str) -> list[str]:
    """A script's statements one by one (SQLite runs one per call inside a transaction)."""
    import sqlite3

    found: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                found.append(current.strip())
            current = ""
    if current.strip() and not all(part.strip().startswith("--")
                                   for part in current.strip().splitlines()):
        raise MigrationError(f"a statement does not end with ';': {current.strip()[:60]!r}")
    return found

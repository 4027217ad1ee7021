"""Bringing an embedded installation of the four-file layout into the one SQLite database.

Releases before migrations kept ``catalogue.sqlite``, ``comments.sqlite``, ``staff.sqlite``
and ``maps.sqlite`` in the data directory, each created by ``CREATE TABLE IF NOT EXISTS``
text in its own module. Their tables are the layout of migration 0005, so a new
``webmap.sqlite`` runs migrations 1–5 and copies every row across in the same transaction;
the old files are removed once that has committed (the comments file is overwritten first:
it holds names and e-mail addresses).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import MigrationError

log = logging.getLogger("webmap.migrate")

LAYOUT_VERSION = 5
"""The migration whose tables the old files hold."""


@dataclass(frozen=True)
class LegacyFile:
    """One old file and the copies that bring its rows over."""

    name: str
    copies: tuple[tuple[str, str], ...]
    """(new table, SELECT on the attached file as ``legacy``) pairs; columns in order."""
    personal: bool = False


LAYERS = ("id, kind, title, description, attribution, source_crs, minx, miny, maxx, maxy, "
          "feature_count, geometry_type, fields, version, location, updated")
COMMENTS = ("id, map_id, created, status, text, language, geometry, feature_collection, "
            "feature_id, name, email, idempotency_key")
FILES = (
    LegacyFile("catalogue.sqlite", (("webmap_layers",
                                     f"SELECT {LAYERS} FROM legacy.layers"),)),  # noqa: S608
    LegacyFile("comments.sqlite", (("webmap_comments",
                                    f"SELECT {COMMENTS} FROM legacy.webmap_comments"),),  # noqa: S608
               personal=True),
    LegacyFile("staff.sqlite", (("webmap_tokens", "SELECT name, token_hash, created, revoked "
                                                  "FROM legacy.staff_tokens"),)),
    LegacyFile("maps.sqlite", (("webmap_maps", "SELECT id, definition, version, updated "
                                               "FROM legacy.webmap_maps"),)),
)
SIDE_FILES = ("-wal", "-shm", ".init-lock")


def present(data_dir: Path) -> list[LegacyFile]:
    """The old files found in ``data_dir``."""
    return [f for f in FILES if (data_dir / f.name).is_file()]


def copier(data_dir: Path, found: list[LegacyFile]) -> Callable[[sqlite3.Connection], None]:
    """A function that copies the rows of ``found`` into the tables on ``conn``."""

    def copy(conn: sqlite3.Connection) -> None:
        for number, legacy in enumerate(found):
            try:
                _copy_one(conn, data_dir, legacy, f"legacy{number}")
            except sqlite3.Error as exc:
                raise MigrationError(f"{legacy.name}: its rows cannot be brought into "
                                     f"webmap.sqlite ({exc}); repair or move the file and "
                                     "start again") from exc

    return copy


def _copy_one(conn: sqlite3.Connection, data_dir: Path, legacy: LegacyFile, alias: str
              ) -> None:
    """Attach one old file as ``alias`` and copy its tables' rows. It stays attached until the
    migrating connection closes: SQLite cannot detach a file read inside a transaction."""
    conn.execute(f"ATTACH DATABASE ? AS {alias}", (str(data_dir / legacy.name),))
    tables = {r[0] for r in conn.execute(
        f"SELECT name FROM {alias}.sqlite_master WHERE type = 'table'")}  # noqa: S608
    for table, select in legacy.copies:
        source = select.rsplit("legacy.", 1)[1]
        if source not in tables:
            continue  # the file was made but never written
        count = conn.execute(f"INSERT INTO {table} "  # noqa: S608
                             + select.replace("legacy.", f"{alias}.")).rowcount
        log.warning("brought %d rows of %s into webmap.sqlite (%s)", count, legacy.name, table)
    if legacy.name == "maps.sqlite" and "webmap_maps_state" in tables:
        state = f"{alias}.webmap_maps_state"
        conn.execute("UPDATE webmap_maps_state SET revision = "  # noqa: S608 - our own alias
                     f"(SELECT coalesce(max(revision), 0) + 1 FROM {state})")


def remove(data_dir: Path, found: list[LegacyFile]) -> None:
    """Delete the old files (overwriting personal data first) once their rows are copied."""
    for legacy in found:
        path = data_dir / legacy.name
        if legacy.personal:
            _overwrite(path)
        for suffix in ("", *SIDE_FILES):
            (data_dir / f"{legacy.name}{suffix}").unlink(missing_ok=True)
        log.warning("removed %s: its rows are in webmap.sqlite now", path)


def _overwrite(path: Path) -> None:
    """Zero a file's bytes (and its WAL's) so unlinking leaves no readable copy behind."""
    for target in (path, path.with_name(path.name + "-wal")):
        if not target.is_file():
            continue
        size = target.stat().st_size
        with open(target, "r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())

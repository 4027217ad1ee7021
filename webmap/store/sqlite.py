"""The embedded catalogue: one SQLite file in the data directory (WAL, short transactions)."""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..problems import LayerNotFound, ServiceUnavailable
from ..types import Field, ImportReport, LayerInfo, LayerKind

SCHEMA = """
CREATE TABLE IF NOT EXISTS layers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    attribution TEXT NOT NULL DEFAULT '',
    source_crs TEXT NOT NULL,
    minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL, maxy REAL NOT NULL,
    feature_count INTEGER NOT NULL,
    geometry_type TEXT NOT NULL,
    fields TEXT NOT NULL,
    version TEXT NOT NULL,
    location TEXT NOT NULL,
    updated TEXT NOT NULL
);
"""


BUSY_TIMEOUT_S = 30.0
"""How long a statement waits for another process's write to finish before it fails."""


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection to one of webmap's SQLite files: autocommit (transactions are explicit),
    waiting up to ``BUSY_TIMEOUT_S`` for other writers."""
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           check_same_thread=check_same_thread)


def init_wal_database(path: Path, schema: str, connect: Callable[[], sqlite3.Connection]
                      ) -> None:
    """Make the folder, set WAL (the file keeps it: readers never wait for a writer), run schema.

    Every gunicorn worker and CLI process does this at start-up. Switching a new file to WAL
    takes an exclusive lock that SQLite may refuse at once, without waiting out the busy
    timeout, when another process is doing the same; so initialisers take turns on an
    advisory lock file beside the database.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".init-lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        conn = connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(schema)
        finally:
            conn.close()


@contextmanager
def sqlite_transaction(connect: Callable[[], sqlite3.Connection], *, write: bool,
                       unavailable: Callable[[Exception], Exception]
                       ) -> Iterator[sqlite3.Connection]:
    """One short transaction on a new connection (IMMEDIATE when writing), always closed;
    a connection or lock failure becomes ``unavailable(exc)`` (a 503 for the client)."""
    try:
        conn = connect()
    except sqlite3.Error as exc:
        raise unavailable(exc) from exc
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        yield conn
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise unavailable(exc) from exc
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


@dataclass(frozen=True)
class CatalogueEntry:
    """A layer and where its data lie (a path relative to the data directory)."""

    info: LayerInfo
    location: str


class Catalogue:
    """Layer metadata in ``catalogue.sqlite``; cached per thread until another writer commits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        init_wal_database(path, SCHEMA, self._connect)
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path, check_same_thread=False)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.version = -1
            self._local.entries = {}
        return conn

    def _entries(self) -> dict[str, CatalogueEntry]:
        """Every entry, re-read only when ``PRAGMA data_version`` says another write happened."""
        try:
            conn = self._conn()
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._local.version:
                rows = conn.execute("SELECT * FROM layers ORDER BY id").fetchall()
                self._local.entries = {row[0]: _entry(row) for row in rows}
                self._local.version = version
        except sqlite3.Error as exc:
            raise ServiceUnavailable("the layer catalogue cannot be read",
                                     headers={"Retry-After": "5"}) from exc
        entries: dict[str, CatalogueEntry] = self._local.entries
        return entries

    def entry(self, layer_id: str) -> CatalogueEntry:
        """One entry; raises ``LayerNotFound``."""
        try:
            return self._entries()[layer_id]
        except KeyError:
            raise LayerNotFound(layer_id) from None

    def entries(self) -> list[CatalogueEntry]:
        """All entries, ordered by id."""
        return list(self._entries().values())

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` if the catalogue cannot be read."""
        self._entries()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a fresh connection (readers keep their own)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def put(self, report: ImportReport, *, fields: tuple[Field, ...], version: str,
            location: str, attribution: str = "", description: str = "") -> LayerInfo:
        """Insert or replace a layer's entry in one statement; returns the new info."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        minx, miny, maxx, maxy = report.bbox
        with self.writing() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO layers (id, kind, title, description, attribution,"
                " source_crs, minx, miny, maxx, maxy, feature_count, geometry_type, fields,"
                " version, location, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (report.layer_id, str(report.kind), report.title, description, attribution,
                 report.source_crs, minx,
                 miny, maxx, maxy, report.feature_count, report.geometry_type,
                 json.dumps([[f.name, f.type] for f in fields]), version, location, now),
            )
        return self.entry(report.layer_id).info

    def delete(self, layer_id: str) -> CatalogueEntry:
        """Remove an entry; returns what it was."""
        entry = self.entry(layer_id)
        with self.writing() as conn:
            conn.execute("DELETE FROM layers WHERE id = ?", (layer_id,))
        return entry


def _entry(row: tuple[object, ...]) -> CatalogueEntry:
    (layer_id, kind, title, description, attribution, source_crs, minx, miny, maxx, maxy,
     count, geometry_type, fields, version, location, updated) = row
    info = LayerInfo(
        id=str(layer_id), kind=LayerKind(str(kind)), title=str(title),
        description=str(description), attribution=str(attribution),
        source_crs=str(source_crs),
        bbox=(float(minx), float(miny), float(maxx), float(maxy)),  # type: ignore[arg-type]
        feature_count=int(count), geometry_type=str(geometry_type),  # type: ignore[call-overload]
        fields=tuple(Field(name, type_) for name, type_ in json.loads(str(fields))),
        version=str(version), updated=str(updated),
    )
    return CatalogueEntry(info=info, location=str(location))

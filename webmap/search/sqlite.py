"""Embedded search indexes: one immutable SQLite file per layer version, renamed in when built."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .index import Entry, Key, Row, lookup_tiers


class SqliteIndexes:
    """``root/{layer}/{version}.{spec}.sqlite``: written aside, renamed in, never changed."""

    SCHEMA = """
    CREATE TABLE entries (id INTEGER PRIMARY KEY, label TEXT, kind TEXT, lang TEXT,
        feature_id INTEGER, x REAL, y REAL, minx REAL, miny REAL, maxx REAL, maxy REAL,
        plen INTEGER, pkey TEXT, num INTEGER, suffix TEXT, rank INTEGER);
    CREATE TABLE keys (key TEXT, first INTEGER, rank INTEGER, entry INTEGER,
        PRIMARY KEY (first, key, rank, entry)) WITHOUT ROWID;
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    def _path(self, layer_id: str, version: str, spec: str) -> Path:
        return self.root / layer_id / f"{version}.{spec}.sqlite"

    @contextmanager
    def _locked(self, layer_id: str) -> Iterator[Path]:
        folder = self.root / layer_id
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # another worker building waits, then reuses
            try:
                yield folder
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure(self, layer_id: str, version: str, spec: str,
               make: Callable[[], tuple[list[Entry], list[Key]]]) -> str:
        """The file's path; built into a scratch file and renamed in under the layer's lock."""
        path = self._path(layer_id, version, spec)
        if path.is_file():
            return str(path)
        with self._locked(layer_id) as folder:
            if path.is_file():
                return str(path)
            entries, keys = make()
            scratch = folder / f".build-{uuid.uuid4().hex}"
            try:
                conn = sqlite3.connect(scratch)
                try:
                    conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                                       + self.SCHEMA)
                    conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                                     " ?, ?, ?, ?, ?, ?)", entries)
                    conn.executemany("INSERT INTO keys VALUES (?, ?, ?, ?)", keys)
                    conn.commit()
                finally:
                    conn.close()
                with open(scratch, "rb") as written:
                    os.fsync(written.fileno())
                os.replace(scratch, path)
            finally:
                scratch.unlink(missing_ok=True)
            for other in folder.iterdir():  # older versions and crashed builds' scratch files
                if other.name != ".lock" and not other.name.startswith(f"{version}."):
                    other.unlink(missing_ok=True)
        return str(path)

    def lookup(self, handle: str, key: str, limit: int) -> list[Row]:
        """Query the file through this thread's read-only connection to it."""
        cache: dict[str, sqlite3.Connection] = self._local.__dict__.setdefault("open", {})
        conn = cache.get(handle)
        if conn is None:  # close this layer's older versions
            version = Path(handle).name.split(".")[0]
            for old in [h for h in cache if Path(h).parent == Path(handle).parent
                        and Path(h).name.split(".")[0] != version]:
                cache.pop(old).close()
            conn = cache[handle] = sqlite3.connect(f"file:{handle}?mode=ro&immutable=1",
                                                   uri=True, check_same_thread=False)
        names = {"keys": "keys", "entries": "entries", "p": "?"}
        return lookup_tiers(
            lambda text, args: conn.execute(text.format(**names), args).fetchall(), key, limit)

    def forget(self, layer_id: str) -> None:
        """Delete the layer's folder."""
        shutil.rmtree(self.root / layer_id, ignore_errors=True)

    def handles(self, layer_id: str) -> list[str]:
        """The layer's index files."""
        folder = self.root / layer_id
        return sorted(str(p) for p in folder.glob("*.sqlite")) if folder.is_dir() else []

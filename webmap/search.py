"""Place search (SPEC §6): a map's addresses and place names found by accent-free prefix.

Each search source gets an index per layer version: one row per result (label, point, bbox,
sort fields) and one key per word start of its name, all keys made by ``search_key`` in
Python, so the database compares plain strings and never normalises by itself. Embedded,
an index is an immutable SQLite file under ``data_dir/search``; on PostGIS, two tables listed
in ``webmap_search_indexes``, shared by every host. Both are built aside and published in one
step (``os.replace`` / a transaction) under a lock, so a half-built index is never read.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import re
import shutil
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Protocol

import psycopg
import shapely
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from .ingest.normalise import clean_names
from .maps import SearchSource
from .problems import LayerNotFound, ServiceUnavailable
from .store.base import Store
from .types import BBox, ItemQuery, LayerInfo, LayerKind

log = logging.getLogger("webmap.search")

FOLD = {ord(c): None for c in map(chr, range(0x10000)) if unicodedata.combining(c)} | {
    ord(k): v for k, v in {"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th",
                           "ł": "l", "ŋ": "n", "ŧ": "t", "ı": "i"}.items()}
"""Combining marks dropped; letters NFKD does not take apart (Danish/Norwegian, Icelandic,
Sámi, Polish, Turkish) spelled in ASCII."""
APOSTROPHES = re.compile(r"['’ʼ`]")
NOT_WORD = re.compile(r"[\W_]+")
NUMBER_LETTER = re.compile(r"(?<=\d) (?=[^\W\d_](?: |$))")
HSTORE_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=>\s*(?:"((?:[^"\\]|\\.)*)"|NULL)')
ESCAPED = re.compile(r"\\(.)")
HOUSE_NUMBER = re.compile(r"\s*(\d{1,9})(.*)")
LANGUAGE_SUFFIX = re.compile(r"[:_]([a-z]{2})$")
KEY_CHARS = 200
KEY_WORDS = 8
"""Keys start at the first eight words of a label: enough for any real name."""
NEAR_M = 10.0
PAGE = 5000
NO_NUMBER = 10**9
TAGS = "other_tags"
"""OSM layers read by GDAL keep tags without a column of their own here, in hstore syntax."""

Row = tuple[Any, ...]
"""tier, label, kind, lang, feature_id, x, y, minx, miny, maxx, maxy, plen, pkey, num, suffix."""
Entry = tuple[Any, ...]
"""id, label, kind, lang, feature_id, x, y, minx, miny, maxx, maxy, plen, pkey, num, suffix,
rank: one row of an index's ``entries``."""
Key = tuple[str, int, int, int]
"""key, first (1 when the key starts the label), rank, entry id."""


def normalise(text: str) -> str:
    """Case- and accent-free text (NFKD, combining marks dropped, casefold: "ß" → "ss")."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return decomposed.translate(FOLD)


@lru_cache(maxsize=1 << 16)
def search_key(text: str) -> str:
    """The text as index and query compare it: normalised words joined by single spaces, a
    house-number letter joined to its number ("Tie 5 A" → "tie 5a")."""
    words = NOT_WORD.sub(" ", APOSTROPHES.sub("", normalise(text))).strip()
    return NUMBER_LETTER.sub("", words)[:KEY_CHARS]


def parse_hstore(text: object) -> dict[str, str]:
    """``"k"=>"v", …`` (GDAL's ``other_tags``) as a dict; escaped quotes kept, NULLs left out."""
    if not isinstance(text, str):
        return {}
    return {ESCAPED.sub(r"\1", m.group(1)): ESCAPED.sub(r"\1", m.group(2))
            for m in HSTORE_PAIR.finditer(text) if m.group(2) is not None}


def house_number_order(number: str) -> tuple[int, str]:
    """Sort house numbers as numbers: 5 < 5a < 5b < 51 (no number last)."""
    match = HOUSE_NUMBER.match(number)
    if not match:
        return NO_NUMBER, search_key(number)
    return int(match.group(1)), search_key(match.group(2))


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One answer: what to show, where it is, where it came from."""

    label: str
    kind: str
    layer: str
    feature_id: int
    lang: str | None
    point: tuple[float, float]
    bbox: BBox | None
    order: tuple[Any, ...]


def _near(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True when two CRS84 points lie within ``NEAR_M`` metres."""
    dx = (a[0] - b[0]) * 111_320.0 * math.cos(math.radians(a[1]))
    dy = (a[1] - b[1]) * 110_540.0
    return dx * dx + dy * dy < NEAR_M * NEAR_M


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value) if value.is_integer() else value
    return str(value).strip() or None


class _LayerChanged(Exception):
    """The layer was replaced while its index was being read."""


def _read_entries(store: Store, info: LayerInfo, source: SearchSource
                  ) -> tuple[list[Entry], list[Key]]:
    """Every result of ``source`` in the layer: labels, points, sort fields, word-start keys."""
    columns = {f.name for f in info.fields}

    def column(name: str) -> str | None:
        cleaned = clean_names([name])[0]
        return name if name in columns else cleaned if cleaned in columns else None

    wanted = ([source.street_field, source.number_field] if source.kind == "address"
              else list(source.name_fields))
    resolved = [(name, column(name)) for name in wanted if name]
    if any(col is None for _, col in resolved) and TAGS not in columns:
        missing = [name for name, col in resolved if col is None]
        log.warning("layer %s has no field %s for search", info.id, ", ".join(missing))
    drafts: list[tuple[Any, ...]] = []
    seen: dict[tuple[str, str], list[tuple[float, float]]] = {}
    after = 0
    while True:
        page = store.items(info.id, ItemQuery(limit=PAGE, after=after, count=False))
        geoms = page.geometries
        points = shapely.point_on_surface(geoms)
        xs, ys = shapely.get_x(points).round(7), shapely.get_y(points).round(7)
        bounds = shapely.bounds(geoms).round(7)
        areas = shapely.get_dimensions(geoms) > 0
        for i, props in enumerate(page.properties):
            tags: dict[str, str] | None = None
            values: dict[str, str | None] = {}
            for name, col in resolved:
                if col is not None:
                    values[name] = _text(props.get(col))
                else:
                    tags = parse_hstore(props.get(TAGS)) if tags is None else tags
                    values[name] = _text(tags.get(name))
            point = (float(xs[i]), float(ys[i]))
            if not math.isfinite(point[0]):
                continue
            box = tuple(float(v) for v in bounds[i]) if areas[i] else None
            for label, lang, sort in _labels(source, values):
                near = seen.setdefault((source.kind, label), [])
                if any(_near(point, other) for other in near):
                    continue  # the same name at the same spot (name = name:fi, two nodes…)
                near.append(point)
                drafts.append((label, source.kind, lang, page.ids[i], *point,
                               *(box or (None,) * 4), *sort))
        if page.next_after is None:
            break
        after = page.next_after
    drafts.sort(key=lambda d: (d[10:14], d[0], d[3]))
    entries: list[Entry] = []
    keys: list[Key] = []
    for n, draft in enumerate(drafts):
        entries.append((n, *draft[:14], n))
        full = search_key(draft[0])
        words = full.split()
        starts = {" ".join(words[k:]) for k in range(min(draft[14], KEY_WORDS, len(words)))}
        keys += [(key, int(key == full), n, n) for key in starts]
    return entries, keys


def _labels(source: SearchSource, values: dict[str, str | None]
            ) -> Iterator[tuple[str, str | None, tuple[int, str, int, str, int]]]:
    """(label, lang, sort fields) of one feature: the name's length and key, the house
    number's value and letter, then how many words of the label are the name (keys start
    only there: never at a house number)."""
    if source.kind == "address":
        street = values.get(source.street_field or "")
        number = values.get(source.number_field or "") if source.number_field else ""
        if street and number is not None:
            key = search_key(street)
            value, letter = house_number_order(number) if number else (0, "")
            yield (f"{street} {number}".strip(), None,
                   (len(key), key, value, letter, len(key.split())))
        return
    for name in source.name_fields:
        label = values.get(name)
        if label:
            lang = LANGUAGE_SUFFIX.search(name)
            key = search_key(label)
            yield label, lang.group(1) if lang else None, (len(key), key, 0, "", KEY_WORDS)


def rank_hits(rows: Sequence[tuple[str, Row]], limit: int) -> list[SearchHit]:
    """Best first: exact label, then label prefix, then word prefix; within each, shorter
    names, then house numbers in order. Identical labels within 10 m count once."""
    hits = sorted((SearchHit(label=r[1], kind=r[2], layer=layer, feature_id=int(r[4]),
                             lang=r[3], point=(float(r[5]), float(r[6])),
                             bbox=None if r[7] is None else (r[7], r[8], r[9], r[10]),
                             order=(r[0], r[11], r[12], r[13], r[14], r[1], layer, r[4]))
                   for layer, r in rows), key=lambda h: h.order)
    kept: list[SearchHit] = []
    for hit in hits:
        if not any(k.label == hit.label and _near(k.point, hit.point) for k in kept):
            kept.append(hit)
            if len(kept) == limit:
                break
    return kept


TIER_ONE = """
SELECT CASE WHEN k.key = {p} THEN 0 ELSE 1 END, e.label, e.kind, e.lang, e.feature_id, e.x, e.y,
       e.minx, e.miny, e.maxx, e.maxy, e.plen, e.pkey, e.num, e.suffix
FROM (SELECT key, entry, rank FROM {keys} WHERE first = 1 AND key >= {p} AND key < {p}
      ORDER BY key = {p} DESC, rank LIMIT {p}) k
JOIN {entries} e ON e.id = k.entry"""
TIER_TWO = """
SELECT 2, e.label, e.kind, e.lang, e.feature_id, e.x, e.y,
       e.minx, e.miny, e.maxx, e.maxy, e.plen, e.pkey, e.num, e.suffix
FROM (SELECT entry, min(rank) AS rank FROM {keys} WHERE first = 0 AND key >= {p} AND key < {p}
      GROUP BY entry ORDER BY min(rank) LIMIT {p}) k
JOIN {entries} e ON e.id = k.entry"""
"""Label prefixes (exact first), then word prefixes: each a range scan of the key index and a
top-N sort, joined to ``entries`` only for the rows kept. ``{p}`` is the placeholder."""


def _ceiling(key: str) -> str:
    """The least string above every string starting with ``key`` (surrogates skipped)."""
    following = ord(key[-1]) + 1
    return key[:-1] + chr(0xE000 if 0xD800 <= following < 0xE000 else following)


class Indexes(Protocol):
    """Where indexes live: ensure one exists, query it, forget a removed layer's."""

    def ensure(self, layer_id: str, version: str, spec: str,
               make: Callable[[], tuple[list[Entry], list[Key]]]) -> str:
        """The index's handle, built with ``make`` (once, under a lock) if missing."""

    def lookup(self, handle: str, key: str, limit: int) -> list[Row]:
        """Up to ``limit`` label-prefix rows, and word-prefix rows if those are too few."""

    def forget(self, layer_id: str) -> None:
        """Drop every index of a layer that no longer exists."""

    def handles(self, layer_id: str) -> list[str]:
        """The stored indexes of a layer."""


def _lookup(execute: Callable[[str, Sequence[Any]], list[Row]], key: str, limit: int
            ) -> list[Row]:
    rows = execute(TIER_ONE, (key, key, _ceiling(key), key, limit))
    if len(rows) < limit:
        rows += execute(TIER_TWO, (key, _ceiling(key), limit + len(rows)))
    return rows


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
        return _lookup(lambda text, args: conn.execute(text.format(**names), args).fetchall(),
                       key, limit)

    def forget(self, layer_id: str) -> None:
        """Delete the layer's folder."""
        shutil.rmtree(self.root / layer_id, ignore_errors=True)

    def handles(self, layer_id: str) -> list[str]:
        """The layer's index files."""
        folder = self.root / layer_id
        return sorted(str(p) for p in folder.glob("*.sqlite")) if folder.is_dir() else []


REGISTRY = "webmap_search_indexes"


class PostgresIndexes:
    """Tables ``search_<hash>_e`` / ``_k`` listed in ``webmap_search_indexes``, shared by every
    worker and host; built and listed in one transaction under an advisory lock."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool
        self._ready = False
        self._known: set[str] = set()
        self._building = threading.Lock()
        """One build per process at a time: a builder holds a connection and reads the layer
        through another, so waiting builders must not hold the rest of the pool."""

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                if not self._ready:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(hashtext('webmap:search'))")
                        conn.execute(f"CREATE TABLE IF NOT EXISTS {REGISTRY} (name text PRIMARY"
                                     " KEY, layer_id text NOT NULL, version text NOT NULL,"
                                     " spec text NOT NULL)")
                    self._ready = True
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("database unavailable: %s", exc)
            raise ServiceUnavailable("the database cannot be reached; try again shortly",
                                     headers={"Retry-After": "5"}) from exc

    def ensure(self, layer_id: str, version: str, spec: str,
               make: Callable[[], tuple[list[Entry], list[Key]]]) -> str:
        """The tables' base name; built, indexed and listed in one transaction."""
        name = "search_" + hashlib.sha256(f"{layer_id}\n{version}\n{spec}".encode()
                                          ).hexdigest()[:24]
        if name in self._known:
            return name
        listed = f"SELECT 1 FROM {REGISTRY} WHERE name = %s"  # noqa: S608
        with self._conn() as conn:
            if conn.execute(listed, (name,)).fetchone():
                self._known.add(name)
                return name
        with self._building, self._conn() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('webmap:search:' || "
                             "current_schema() || ':' || %s))", (layer_id,))
                if conn.execute(listed, (name,)).fetchone():
                    self._known.add(name)
                    return name
                entries, keys = make()
                self._write(conn, name, entries, keys)
                conn.execute(f"INSERT INTO {REGISTRY} VALUES (%s, %s, %s, %s)",  # noqa: S608
                             (name, layer_id, version, spec))
                stale = [r[0] for r in conn.execute(
                    f"DELETE FROM {REGISTRY} WHERE layer_id = %s AND version <> %s"  # noqa: S608
                    " RETURNING name", (layer_id, version))]
            for table in (f"{name}_e", f"{name}_k"):
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
            self._drop(conn, stale)
        self._known.difference_update(stale)
        self._known.add(name)
        return name

    @staticmethod
    def _write(conn: psycopg.Connection[Any], name: str, entries: list[Entry],
               keys: list[Key]) -> None:
        e, k = sql.Identifier(f"{name}_e"), sql.Identifier(f"{name}_k")
        conn.execute(sql.SQL(
            "CREATE TABLE {} (id integer PRIMARY KEY, label text, kind text, lang text,"
            " feature_id bigint, x float8, y float8, minx float8, miny float8, maxx float8,"
            " maxy float8, plen integer, pkey text, num integer, suffix text, rank integer)"
        ).format(e))
        conn.execute(sql.SQL("CREATE TABLE {} (key text COLLATE \"C\", first smallint,"
                             " rank integer, entry integer)").format(k))
        with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(e)) as copy:
            for entry in entries:
                copy.write_row(entry)
        with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(k)) as copy:
            for key in keys:
                copy.write_row(key)
        conn.execute(sql.SQL("CREATE INDEX ON {} (first, key) INCLUDE (rank, entry)").format(k))

    @staticmethod
    def _drop(conn: psycopg.Connection[Any], names: list[str]) -> None:
        for name in names:
            try:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(
                    sql.Identifier(f"{name}_e"), sql.Identifier(f"{name}_k")))
            except psycopg.Error as exc:  # unlisted already: an orphan table is harmless
                log.warning("could not drop search index %s: %s", name, exc)

    def lookup(self, handle: str, key: str, limit: int) -> list[Row]:
        """Query the tables; ``LayerChanged`` if another host dropped them meanwhile."""
        names = {"keys": sql.Identifier(f"{handle}_k"), "entries": sql.Identifier(f"{handle}_e"),
                 "p": sql.SQL("%s")}
        with self._conn() as conn:
            try:
                return _lookup(lambda text, args: conn.execute(
                    sql.SQL(text).format(**names), args).fetchall(), key, limit)
            except psycopg.errors.UndefinedTable as exc:
                self._known.discard(handle)
                raise _LayerChanged from exc

    def forget(self, layer_id: str) -> None:
        """Unlist and drop the layer's tables."""
        with self._conn() as conn:
            names = [r[0] for r in conn.execute(
                f"DELETE FROM {REGISTRY} WHERE layer_id = %s RETURNING name",  # noqa: S608
                (layer_id,))]
            self._drop(conn, names)
        self._known.difference_update(names)

    def handles(self, layer_id: str) -> list[str]:
        """The layer's listed indexes."""
        with self._conn() as conn:
            return sorted(r[0] for r in conn.execute(
                f"SELECT name FROM {REGISTRY} WHERE layer_id = %s", (layer_id,)))  # noqa: S608


class SearchService:
    """Answers a map's place search from its sources' indexes, building them when missing."""

    SLACK = 5
    """Extra rows asked of each index, for duplicates removed when sources are merged."""

    def __init__(self, store: Store, indexes: Indexes) -> None:
        self.store = store
        self.indexes = indexes
        self._missing: set[str] = set()

    def search(self, sources: Sequence[SearchSource], text: str, *, limit: int
               ) -> list[SearchHit]:
        """The best ``limit`` hits of every source for ``text``."""
        key = search_key(text)
        if not key:
            return []
        rows: list[tuple[str, Row]] = []
        for source in sources:
            rows += [(source.layer, row) for row in self._lookup(source, key, limit + self.SLACK)]
        return rank_hits(rows, limit)

    def _lookup(self, source: SearchSource, key: str, limit: int) -> list[Row]:
        for attempt in range(3):
            try:
                info = self.store.layer(source.layer)
            except LayerNotFound:
                if source.layer not in self._missing:  # say it once, tidy up once
                    self._missing.add(source.layer)
                    log.warning("search layer %s does not exist", source.layer)
                    self.indexes.forget(source.layer)
                return []
            self._missing.discard(source.layer)
            if info.kind is not LayerKind.VECTOR:
                return []
            spec = hashlib.sha256(json.dumps([source.kind, source.name_fields,
                                              source.street_field, source.number_field]
                                             ).encode()).hexdigest()[:12]
            try:
                handle = self.indexes.ensure(info.id, info.version, spec,
                                             partial(self._entries, info, source))
                return self.indexes.lookup(handle, key, limit)
            except _LayerChanged:
                if attempt == 2:
                    raise ServiceUnavailable("the layer is being replaced; try again",
                                             headers={"Retry-After": "1"}) from None
        return []

    def _entries(self, info: LayerInfo, source: SearchSource
                 ) -> tuple[list[Entry], list[Key]]:
        built = _read_entries(self.store, info, source)
        if self.store.layer(info.id).version != info.version:
            raise _LayerChanged
        return built


def open_search(store: Store, *, data_dir: Path, pool: ConnectionPool[Any] | None = None
                ) -> SearchService:
    """The service over PostgreSQL when the store has a pool, else SQLite files."""
    indexes: Indexes = (PostgresIndexes(pool) if pool is not None
                        else SqliteIndexes(data_dir / "search"))
    return SearchService(store, indexes)

"""What a search index holds and the two-tier query every storage runs on it, written once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

Row = tuple[Any, ...]
"""tier, label, kind, lang, feature_id, x, y, minx, miny, maxx, maxy, plen, pkey, num, suffix."""
Entry = tuple[Any, ...]
"""id, label, kind, lang, feature_id, x, y, minx, miny, maxx, maxy, plen, pkey, num, suffix,
rank: one row of an index's ``entries``."""
Key = tuple[str, int, int, int]
"""key, first (1 when the key starts the label), rank, entry id."""


class LayerChanged(Exception):
    """The layer was replaced while its index was being read."""


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


def lookup_tiers(execute: Callable[[str, Sequence[Any]], list[Row]], key: str, limit: int
                 ) -> list[Row]:
    """Label-prefix rows, then word-prefix rows if too few; ``execute`` runs one query."""
    rows = execute(TIER_ONE, (key, key, _ceiling(key), key, limit))
    if len(rows) < limit:
        rows += execute(TIER_TWO, (key, _ceiling(key), limit + len(rows)))
    return rows

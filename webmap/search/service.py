"""The place-search service: a map's sources looked up in their indexes and merged, best first."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..maps import SearchSource
from ..problems import LayerNotFound, ServiceUnavailable
from ..store.base import Store
from ..types import BBox, LayerInfo, LayerKind
from .build import is_near, read_entries
from .index import Entry, Indexes, Key, LayerChanged, Row
from .keys import search_key

log = logging.getLogger("webmap.search")


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
        if not any(_same(k, hit) for k in kept):
            kept.append(hit)
            if len(kept) == limit:
                break
    return kept


SAME_ADDRESS_M = 300.0
"""One address label within this distance is one address (an address point, a shop and a
pharmacy all tagged "Mannerheimintie 1" are answered once)."""


def _same(a: SearchHit, b: SearchHit) -> bool:
    if a.label != b.label:
        return False
    if a.kind == b.kind == "address":
        dx = (a.point[0] - b.point[0]) * 111_320.0 * math.cos(math.radians(a.point[1]))
        dy = (a.point[1] - b.point[1]) * 110_540.0
        return dx * dx + dy * dy < SAME_ADDRESS_M * SAME_ADDRESS_M
    return is_near(a.point, b.point)


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
            except LayerChanged:
                if attempt == 2:
                    raise ServiceUnavailable("the layer is being replaced; try again",
                                             headers={"Retry-After": "1"}) from None
        return []

    def _entries(self, info: LayerInfo, source: SearchSource
                 ) -> tuple[list[Entry], list[Key]]:
        built = read_entries(self.store, info, source)
        if self.store.layer(info.id).version != info.version:
            raise LayerChanged
        return built

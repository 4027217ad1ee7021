"""A layer read into index entries and word-start keys, made in Python so every storage agrees."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from typing import Any

import shapely

from ..ingest.normalise import clean_names
from ..maps import SearchSource
from ..store.base import Store
from ..types import ItemQuery, LayerInfo
from .index import Entry, Key
from .keys import house_number_order, parse_hstore, search_key

log = logging.getLogger("webmap.search")

LANGUAGE_SUFFIX = re.compile(r"[:_]([a-z]{2})$")
KEY_WORDS = 8
"""Keys start at the first eight words of a label: enough for any real name."""
NEAR_M = 10.0
PAGE = 5000
TAGS = "other_tags"
"""OSM layers read by GDAL keep tags without a column of their own here, in hstore syntax."""


def is_near(a: tuple[float, float], b: tuple[float, float]) -> bool:
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


def read_entries(store: Store, info: LayerInfo, source: SearchSource
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
    shapes: dict[tuple[str, str], list[int]] = {}
    after = 0
    while True:
        page = store.items(info, ItemQuery(limit=PAGE, after=after, count=False))
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
                if any(is_near(point, other) for other in near):
                    continue  # the same name at the same spot (name = name:fi, two nodes…)
                near.append(point)
                if box is not None:
                    shapes.setdefault((source.kind, label), []).append(len(drafts))
                drafts.append((label, source.kind, lang, page.ids[i], *point,
                               *(box or (None,) * 4), *sort))
        if page.next_after is None:
            break
        after = page.next_after
    drafts = _join_stretches(drafts, shapes)
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


JOIN_DEG = 0.0005
"""Lines or areas of one name whose extents come this close (about 50 m) are one place: the
stretches of a street are mapped as many lines."""


def _meets(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return bool(a[6] <= b[8] + JOIN_DEG and a[8] >= b[6] - JOIN_DEG
                and a[7] <= b[9] + JOIN_DEG and a[9] >= b[7] - JOIN_DEG)


def _join_stretches(drafts: list[tuple[Any, ...]], shapes: dict[tuple[str, str], list[int]]
                    ) -> list[tuple[Any, ...]]:
    """Lines or areas of one name whose extents meet become one answer (the first one, with
    their joint extent): a street is mapped as many stretches."""
    dropped: set[int] = set()
    for indexes in shapes.values():
        if len(indexes) < 2:
            continue
        groups: list[list[int]] = []
        for n in indexes:
            touching = [g for g in groups if any(_meets(drafts[n], drafts[m]) for m in g)]
            merged = [n] + [m for g in touching for m in g]
            groups = [g for g in groups if g not in touching] + [sorted(merged)]
        for group in groups:
            first, rest = group[0], group[1:]
            if not rest:
                continue
            boxes = [drafts[m][6:10] for m in group]
            grown = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                     max(b[2] for b in boxes), max(b[3] for b in boxes))
            drafts[first] = (*drafts[first][:6], *grown, *drafts[first][10:])
            dropped.update(rest)
    return [d for n, d in enumerate(drafts) if n not in dropped]


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

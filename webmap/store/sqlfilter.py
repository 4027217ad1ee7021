"""Validated CQL2 filters → SQLite conditions with bound parameters, plus exact spatial tests.

Column names come only from the layer's own field list (quoted by the caller); every value a
client sent is a parameter. A PostGIS translator can sit beside this one: it gets the same
nodes (``webmap.types``) and the same ``Plan`` shape.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from ..types import (
    And,
    BBox,
    Between,
    Compare,
    FilterNode,
    Fold,
    InList,
    IsNull,
    ItemQuery,
    Like,
    Not,
    Operand,
    Or,
    Property,
    Spatial,
)

CASEI_SQL = "webmap_casei"
ACCENTI_SQL = "webmap_accenti"
SPATIAL_SQL = "webmap_spatial"
COMPARISONS = frozenset({"=", "<>", "<", "<=", ">", ">="})
PREDICATES = frozenset({"intersects", "disjoint", "within", "contains", "touches", "crosses",
                        "overlaps", "equals"})
BOUNDED = PREDICATES - {"disjoint"}
"""Predicates that imply the envelopes meet, so the R-tree can narrow the candidates."""
_PREPARED_FIRST = {"within": "contains", "contains": "within"}
"""``feature op literal`` as ``literal op' feature``, so GEOS uses the prepared literal."""


def casei(text: Any) -> Any:
    """CQL2 CASEI: Unicode case folding (``None`` and non-text pass through)."""
    return text.casefold() if isinstance(text, str) else text


def accenti(text: Any) -> Any:
    """CQL2 ACCENTI: drop combining marks after canonical decomposition (Hä → Ha, Å → A)."""
    if not isinstance(text, str):
        return text
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


FOLDS: dict[str, Callable[[Any], Any]] = {"casei": casei, "accenti": accenti}
_FOLD_SQL = {"casei": CASEI_SQL, "accenti": ACCENTI_SQL}


def register(conn: sqlite3.Connection, *, wkb_of: Callable[[bytes], bytes]) -> None:
    """Add the SQL functions filters use: CASEI, ACCENTI and a per-row spatial test
    (``wkb_of`` turns the backend's geometry blob into WKB)."""
    conn.create_function(CASEI_SQL, 1, casei, deterministic=True)
    conn.create_function(ACCENTI_SQL, 1, accenti, deterministic=True)
    literals: dict[bytes, Any] = {}  # per connection, so per thread: prepared geometries
    # are not safe to share between threads

    def spatial(op: str, blob: bytes | None, literal: bytes) -> int | None:
        if blob is None or op not in PREDICATES:
            return None
        geometry = literals.get(literal)
        if geometry is None:
            if len(literals) >= 16:
                literals.clear()
            geometry = literals[literal] = shapely.from_wkb(literal)
            shapely.prepare(geometry)
        return int(bool(test(op, geometry, shapely.from_wkb(wkb_of(blob)))))

    conn.create_function(SPATIAL_SQL, 3, spatial, deterministic=True)


def test(op: str, literal: Any, features: Any) -> Any:
    """``feature op literal`` for one feature or an array (vectorised), literal prepared."""
    return getattr(shapely, _PREPARED_FIRST.get(op, op))(literal, features)


@dataclass(frozen=True)
class Plan:
    """How a backend runs an items query."""

    where: str
    """``""`` or ``" AND …"`` to append to the WHERE clause (table alias ``t``)."""
    args: tuple[Any, ...]
    envelope: BBox | None
    """Every match's envelope meets this CRS84 window (the R-tree's job); None: unbounded."""
    tests: tuple[tuple[str, Any], ...]
    """``(predicate, CRS84 geometry)``: exact tests on fetched features, all must hold."""
    rectangle_only: bool
    """The only test is ``envelope`` itself as a rectangle: index-only counting is exact."""
    costly: bool = False
    """The conditions call CASEI/ACCENTI (Python) per row: a second scan to count is costly."""

    @property
    def spatial(self) -> bool:
        """True when features must be tested against geometries after fetching."""
        return bool(self.tests)

    def passes(self, geometries: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
        """Which fetched features pass every exact test."""
        keep = np.ones(len(geometries), dtype=bool)
        for op, literal in self.tests:
            keep &= np.asarray(test(op, literal, geometries), dtype=bool)
        return keep


def plan(query: ItemQuery, columns: Mapping[str, str], geometry_sql: str) -> Plan:
    """Translate the equality properties, bbox and filter of ``query``.

    ``columns`` maps each field name to its quoted SQL expression; top-level spatial terms
    of an AND become R-tree windows and exact tests, the rest become SQL.
    """
    translator = _Translator(columns, geometry_sql)
    parts = [f"{translator.operand(Property(name, ''))} = {translator.value(value)}"
             for name, value in query.properties]
    tests: list[tuple[str, Any]] = []
    envelope: BBox | None = None
    if query.bbox is not None:
        tests.append(("intersects", query.area if query.area is not None
                      else shapely.box(*query.bbox)))
        envelope = query.bbox
    rectangle_only = query.bbox is not None and query.area is None
    for term in conjuncts(query.filter):
        if isinstance(term, Spatial):
            tests.append((term.op, term.geometry))
            rectangle_only = False
            if term.op in BOUNDED:
                envelope = _meet(envelope, tuple(shapely.bounds(term.geometry).tolist()))
        else:
            parts.append(translator.condition(term))
    for _, literal in tests:
        shapely.prepare(literal)
    return Plan(where="".join(f" AND {p}" for p in parts), args=tuple(translator.args),
                envelope=envelope, tests=tuple(tests), rectangle_only=rectangle_only,
                costly=translator.calls > 0)


def conjuncts(node: FilterNode | None) -> Iterator[FilterNode]:
    """The terms of a top-level AND (nested ANDs flattened)."""
    if node is None:
        return
    if isinstance(node, And):
        for term in node.terms:
            yield from conjuncts(term)
    else:
        yield node


def _meet(a: BBox | None, b: Any) -> BBox:
    if a is None:
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def like_to_glob(pattern: str) -> str:
    """A CQL2 LIKE pattern (``%``, ``_``, ``\\`` escapes) as a case-sensitive SQLite GLOB."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append(_glob_literal(char))
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(_glob_literal(char))
    return "".join(out)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char


def bind(value: object) -> object:
    """A literal as SQLite stores it: booleans 0/1, dates and times as ISO text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
            return value.isoformat(timespec="milliseconds") + "Z"
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def fold_literal(operand: Operand) -> object:
    """The value of a literal, or of CASEI/ACCENTI applied to one; raises TypeError otherwise."""
    if isinstance(operand, Fold):
        return FOLDS[operand.function](fold_literal(operand.arg))
    if isinstance(operand, Property):
        raise TypeError("not a literal")
    return operand


def _is_timestamp(operand: Operand) -> bool:
    if isinstance(operand, Property):
        return operand.type == "datetime"
    return isinstance(operand, datetime)


class _Translator:
    """Walks filter nodes, writing SQL text and collecting the parameters in order."""

    def __init__(self, columns: Mapping[str, str], geometry_sql: str) -> None:
        self.columns = columns
        self.geometry_sql = geometry_sql
        self.args: list[Any] = []
        self.calls = 0

    def value(self, value: object) -> str:
        self.args.append(bind(value))
        return "?"

    def operands(self, *operands: Operand) -> list[str]:
        """SQL for operands compared with each other: timestamps (stored as ISO text with or
        without milliseconds and ``Z``) are compared as Julian days, everything else as is."""
        sql = [self.operand(o) for o in operands]
        if any(_is_timestamp(o) for o in operands):
            return [f"julianday({s})" for s in sql]
        return sql

    def operand(self, operand: Operand) -> str:
        if isinstance(operand, Property):
            if operand.type == "geometry":
                return self.geometry_sql
            return self.columns[operand.name]  # names were checked against the queryables
        if isinstance(operand, Fold):
            try:
                return self.value(fold_literal(operand))
            except TypeError:
                self.calls += 1
                return f"{_FOLD_SQL[operand.function]}({self.operand(operand.arg)})"
        return self.value(operand)

    def condition(self, node: FilterNode) -> str:
        not_ = "NOT " if getattr(node, "negate", False) else ""
        if isinstance(node, And | Or):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.condition(t) for t in node.terms) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.condition(node.term)})"
        if isinstance(node, Compare):
            if node.op not in COMPARISONS:
                raise ValueError(f"unknown comparison {node.op!r}")
            lhs, rhs = self.operands(node.lhs, node.rhs)
            return f"({lhs} {node.op} {rhs})"
        if isinstance(node, Like):
            lhs = self.operand(node.lhs)
            return f"({not_}{lhs} GLOB {self.value(like_to_glob(str(fold_literal(node.pattern))))})"
        if isinstance(node, InList):
            lhs, *values = self.operands(node.lhs, *node.values)
            return f"({lhs} {not_}IN ({', '.join(values)}))"
        if isinstance(node, Between):
            lhs, low, high = self.operands(node.lhs, node.low, node.high)
            return f"({lhs} {not_}BETWEEN {low} AND {high})"
        if isinstance(node, IsNull):
            return f"({self.operand(node.lhs)} IS {not_}NULL)"
        if isinstance(node, Spatial):
            if node.op not in PREDICATES:
                raise ValueError(f"unknown spatial predicate {node.op!r}")
            return (f"({SPATIAL_SQL}({self.value(node.op)}, {self.geometry_sql}, "
                    f"{self.value(shapely.to_wkb(node.geometry))}) = 1)")
        raise TypeError(f"not a filter node: {type(node).__name__}")

"""Validated CQL2 filters → PostgreSQL/PostGIS conditions (``psycopg.sql``, bound parameters).

The same nodes (``webmap.types``) as ``sqlfilter``; here every test, spatial ones included,
runs in the database: PostGIS predicates are exact (GEOS) and use the GiST index. Column names
come only from the layer's own field list and are written with ``sql.Identifier``; every value
a client sent is a parameter.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from psycopg import sql

from ..types import (
    And,
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
from .sqlfilter import COMPARISONS, fold_literal

SPATIAL_FUNCTIONS = {
    "intersects": "ST_Intersects", "disjoint": "ST_Disjoint", "within": "ST_Within",
    "contains": "ST_Contains", "touches": "ST_Touches", "crosses": "ST_Crosses",
    "overlaps": "ST_Overlaps", "equals": "ST_Equals",
}
"""``feature op literal`` → the PostGIS function called as ``f(geom, literal)``."""


def _accent_table() -> tuple[str, str]:
    """Accented Latin letters and their bare forms, for ``translate()`` without ``unaccent``."""
    source, target = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        bare = "".join(c for c in unicodedata.normalize("NFD", char)
                       if not unicodedata.combining(c))
        if len(bare) == 1 and bare != char:
            source.append(char)
            target.append(bare)
    return "".join(source), "".join(target)


ACCENTED, UNACCENTED = _accent_table()


@dataclass(frozen=True)
class Plan:
    """An items query's WHERE clause (``TRUE`` when nothing filters) and its parameters."""

    where: sql.Composable
    args: tuple[Any, ...]
    filtered: bool
    """True when some condition narrows the layer (so offsets and counts need the database)."""


def plan(query: ItemQuery, columns: Mapping[str, str], *, unaccent: bool = True,
         geometry: str = "geom") -> Plan:
    """Translate the equality properties, bbox (or exact area) and filter of ``query``.

    ``columns`` holds the layer's field names (values as they are in the table);
    ``unaccent``: the ``unaccent`` extension is installed (else ``translate()``).
    """
    translator = _Translator(columns, geometry, unaccent=unaccent)
    parts: list[sql.Composable] = []
    for name, value in query.properties:
        parts.append(sql.SQL("({} = {})").format(translator.operand(Property(name, "")),
                                                 translator.value(value)))
    if query.bbox is not None:
        if query.area is not None:
            parts.append(sql.SQL("ST_Intersects({}, ST_GeomFromWKB({}, 4326))").format(
                translator.geometry, translator.value(shapely.to_wkb(query.area))))
        else:
            envelope = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
                *(translator.value(float(v)) for v in query.bbox))
            parts.append(sql.SQL("ST_Intersects({}, {})").format(translator.geometry, envelope))
    if query.filter is not None:
        parts.append(translator.condition(query.filter))
    where = sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")
    return Plan(where=where, args=tuple(translator.args), filtered=bool(parts))


class _Translator:
    """Walks filter nodes, composing SQL and collecting the parameters in order."""

    def __init__(self, columns: Mapping[str, str], geometry: str, *, unaccent: bool) -> None:
        self.columns = columns
        self.geometry = sql.SQL("t.") + sql.Identifier(geometry)
        self.unaccent = unaccent
        self.args: list[Any] = []

    def value(self, value: object) -> sql.Composable:
        self.args.append(value)
        return sql.SQL("%s")

    def fold(self, function: str, inner: sql.Composable) -> sql.Composable:
        if function == "casei":
            return sql.SQL("lower({})").format(inner)
        if self.unaccent:
            return sql.SQL("unaccent({})").format(inner)
        return sql.SQL("translate({}, {}, {})").format(inner, sql.Literal(ACCENTED),
                                                       sql.Literal(UNACCENTED))

    def operand(self, operand: Operand) -> sql.Composable:
        if isinstance(operand, Property):
            if operand.type == "geometry":
                return self.geometry
            name = self.columns[operand.name]  # names were checked against the queryables
            return sql.SQL("t.") + sql.Identifier(name)
        if isinstance(operand, Fold):
            try:
                return self.value(fold_literal(operand))
            except TypeError:
                return self.fold(operand.function, self.operand(operand.arg))
        return self.value(operand)

    def condition(self, node: FilterNode) -> sql.Composable:
        not_ = sql.SQL("NOT " if getattr(node, "negate", False) else "")
        if isinstance(node, And | Or):
            joiner = sql.SQL(" AND " if isinstance(node, And) else " OR ")
            return sql.SQL("({})").format(joiner.join(self.condition(t) for t in node.terms))
        if isinstance(node, Not):
            return sql.SQL("(NOT {})").format(self.condition(node.term))
        if isinstance(node, Compare):
            if node.op not in COMPARISONS:
                raise ValueError(f"unknown comparison {node.op!r}")
            return sql.SQL("({} {} {})").format(self.operand(node.lhs), sql.SQL(node.op),
                                                self.operand(node.rhs))
        if isinstance(node, Like):
            # CQL2 and PostgreSQL LIKE share %, _ and the backslash escape
            return sql.SQL("({}{} LIKE {})").format(
                not_, self.operand(node.lhs), self.value(str(fold_literal(node.pattern))))
        if isinstance(node, InList):
            lhs = self.operand(node.lhs)
            values = sql.SQL(", ").join(self.operand(v) for v in node.values)
            return sql.SQL("({} {}IN ({}))").format(lhs, not_, values)
        if isinstance(node, Between):
            return sql.SQL("({} {}BETWEEN {} AND {})").format(
                self.operand(node.lhs), not_, self.operand(node.low), self.operand(node.high))
        if isinstance(node, IsNull):
            return sql.SQL("({} IS {}NULL)").format(self.operand(node.lhs), not_)
        if isinstance(node, Spatial):
            function = SPATIAL_FUNCTIONS.get(node.op)
            if function is None:
                raise ValueError(f"unknown spatial predicate {node.op!r}")
            return sql.SQL("{}({}, ST_GeomFromWKB({}, 4326))").format(
                sql.SQL(function), self.geometry, self.value(shapely.to_wkb(node.geometry)))
        raise TypeError(f"not a filter node: {type(node).__name__}")

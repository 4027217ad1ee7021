"""OGC API - Features Part 3: CQL2 filters parsed by pygeofilter, checked against the layer's
queryables and turned into ``webmap.types`` filter nodes that any backend translates."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from lark import Lark, v_args
from lark.exceptions import UnexpectedInput
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_json.parser import walk_cql_json
from pygeofilter.parsers.cql2_text import parser as cql2_text
from shapely.errors import ShapelyError

from .. import crs
from ..problems import InvalidParameter
from ..types import (
    And,
    Between,
    Compare,
    FilterNode,
    Fold,
    InList,
    IsNull,
    LayerInfo,
    Like,
    Not,
    Operand,
    Or,
    Property,
    Spatial,
)

GEOMETRY = "geometry"
"""The name of the spatial queryable (the layer's one geometry)."""
LANGUAGES = ("cql2-text", "cql2-json")
MAX_TERMS = 500
MAX_DEPTH = 40
MAX_FUNCTIONS = 40
"""CASEI/ACCENTI calls in one filter: each runs once per row scanned."""
MAX_FUNCTION_DEPTH = 3
"""Functions nested in each other: CASEI(ACCENTI(name)) is 2."""
_COMPARISONS: dict[type[Any], str] = {
    ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
    ast.GreaterThan: ">", ast.GreaterEqual: ">=",
}
_SPATIAL: dict[type[Any], str] = {
    ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
    ast.GeometryWithin: "within", ast.GeometryContains: "contains",
    ast.GeometryTouches: "touches", ast.GeometryCrosses: "crosses",
    ast.GeometryOverlaps: "overlaps", ast.GeometryEquals: "equals",
}
_CONVERSE = {"within": "contains", "contains": "within"}
_FUNCTIONS = {"lower": "casei", "casei": "casei", "accenti": "accenti"}
"""pygeofilter names CASEI ``lower``."""
_KINDS = {"integer": "number", "number": "number", "string": "text", "boolean": "boolean",
          "date": "date", "datetime": "timestamp", GEOMETRY: "geometry"}


def queryables(info: LayerInfo) -> dict[str, Property]:
    """The layer's queryables by name: its geometry and every attribute."""
    found = {GEOMETRY: Property(GEOMETRY, GEOMETRY)}
    found.update((f.name, Property(f.name, f.type)) for f in info.fields)
    return found


def parse_filter(args: Mapping[str, str], info: LayerInfo, filter_crs: str
                 ) -> FilterNode | None:
    """``filter`` in ``filter-lang`` with geometry literals in ``filter_crs``, validated."""
    language = args.get("filter-lang") or "cql2-text"
    if language not in LANGUAGES:
        raise InvalidParameter("filter-lang", f"filter-lang must be one of "
                               f"{', '.join(LANGUAGES)}, got {language!r}")
    raw = args.get("filter")
    if raw is None or not raw.strip():
        return None
    tree = _parse_text(raw) if language == "cql2-text" else _parse_json(raw)
    try:
        return _Checker(queryables(info), filter_crs, info.id).condition(tree, 0)
    except RecursionError:
        raise _invalid("the filter is nested too deeply") from None


def _invalid(detail: str) -> InvalidParameter:
    return InvalidParameter("filter", detail)


@v_args(meta=False, inline=True)
class _Transformer(cql2_text.CQLTransformer):  # type: ignore[misc]
    """pygeofilter's CQL2 text transformer without its two debug ``print`` calls."""

    def wkt__geometry_with_srid(self, srid: Any, geometry: dict[str, Any]) -> dict[str, Any]:
        """EWKT ``SRID=n;…``: keep the code so the checker can refuse it."""
        return {**geometry, "crs": {"type": "name", "properties": {"name": f"EPSG:{srid}"}}}

    def wkt__multipoint_2(self, *coordinates: Any) -> dict[str, Any]:
        """``MULTIPOINT((x y), (x y))``."""
        return {"type": "MultiPoint", "coordinates": coordinates}


@lru_cache(maxsize=1)
def _text_parser() -> Lark:
    """pygeofilter's CQL2 text grammar and transformer, built without lark's debug mode
    (pygeofilter's own instance prints a parser state dump to stdout on odd literals)."""
    return Lark.open("grammar.lark", rel_to=cql2_text.__file__, parser="lalr",
                     maybe_placeholders=False, transformer=_Transformer(),
                     import_paths=[os.path.dirname(os.path.dirname(cql2_text.__file__))])


def _parse_text(raw: str) -> Any:
    try:
        return _text_parser().parse(raw)
    except UnexpectedInput as exc:
        where = f"line {exc.line}, column {exc.column}" if "\n" in raw.strip() \
            else f"column {exc.column}"
        token = getattr(exc, "token", None)
        if token is not None and token.type == "$END":
            raise _invalid(f"filter is not valid CQL2 text: it ends too early, after {where}"
                           ) from None
        found = token if token is not None else getattr(exc, "char", "")
        raise _invalid(f"filter is not valid CQL2 text: unexpected {str(found)!r} at {where}"
                       ) from None
    except ValueError as exc:  # a literal the transformer rejects, e.g. DATE('2024-13-01')
        raise _invalid(f"filter is not valid CQL2 text: {str(exc)[:120]}") from None
    except Exception:  # noqa: BLE001 - pygeofilter's transformer runs inside lark and raises
        # assorted errors for odd input (e.g. "- name"); each is the client's syntax error
        raise _invalid("filter is not valid CQL2 text; check its operators and "
                       "literals") from None


def _parse_json(raw: str) -> Any:
    try:
        document = json.loads(raw)
    except RecursionError:
        raise _invalid("the filter is nested too deeply") from None
    except ValueError as exc:
        detail = getattr(exc, "msg", "not JSON")
        line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise _invalid(f"filter is not valid JSON: {detail} at line {line}, "
                       f"column {column}") from None
    if not isinstance(document, dict):
        raise _invalid("a CQL2 JSON filter is an object such as "
                       '{"op": "=", "args": [{"property": "status"}, "proposal"]}')
    try:
        return parse_cql2_json(_normalise_json(document, 0))
    except InvalidParameter:
        raise
    except Exception as exc:  # noqa: BLE001 - pygeofilter raises assorted errors on bad input
        hint = str(exc)[:160] if isinstance(exc, ValueError) else "check its operators"
        raise _invalid(f"filter is not valid CQL2 JSON: {hint}") from None


def _normalise_json(node: Any, depth: int) -> Any:
    """Bridge CQL2 JSON and pygeofilter 0.4: ACCENTI as a function, three-argument BETWEEN,
    and ``{"bbox": [...]}`` literals (which pygeofilter reads with its axes mixed up)."""
    if depth > MAX_DEPTH:
        raise _invalid("the filter is nested too deeply")
    if isinstance(node, list):
        return [_normalise_json(n, depth + 1) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"}:
        return _bbox_polygon(node["bbox"]).__geo_interface__
    node = {k: _normalise_json(v, depth + 1) for k, v in node.items()}
    op, args = node.get("op"), node.get("args")
    if op == "accenti" and isinstance(args, list):
        return {"function": {"name": "accenti", "arguments": args}}
    if op == "between" and isinstance(args, list) and len(args) == 3:
        return {"op": "between", "args": [args[0], args[1:]]}
    return node


def _bbox_polygon(numbers: Any) -> Any:
    """A CQL2 BBOX literal (4 or 6 numbers, lower corner first) as a polygon."""
    if not isinstance(numbers, list | tuple) or len(numbers) not in {4, 6} or not all(
            isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n)
            for n in numbers):
        raise _invalid("a BBOX literal needs 4 (or 6) finite numbers")
    minx, miny, maxx, maxy = numbers if len(numbers) == 4 else (*numbers[:2], *numbers[3:5])
    if minx > maxx or miny > maxy:
        raise _invalid("a BBOX literal's lower corner must come first (bboxes that cross "
                       "the antimeridian are not supported)")
    return shapely.box(minx, miny, maxx, maxy)


def checked_geometry(geometry: Any, code: str, parameter: str = "filter") -> Any:
    """A geometry literal given in ``code`` (its axis order) as a valid CRS84 geometry."""
    if geometry is None or shapely.is_empty(geometry):
        raise InvalidParameter(parameter, "the geometry literal is empty")
    if not shapely.is_valid(geometry):
        raise InvalidParameter(parameter, "the geometry literal is not valid: "
                               f"{shapely.is_valid_reason(geometry)}")
    if code == "CRS84":
        return geometry
    array = np.array([geometry])
    if crs.northing_first(code):
        array = crs.swap_axes(array)
    if code != "EPSG:4326":
        minx, miny, maxx, maxy = shapely.bounds(array[0])
        array = shapely.segmentize(array, max(maxx - minx, maxy - miny) / 32 or 1.0)
        array = crs.transform_geometries(array, code, "CRS84")
    result = array[0]
    if not np.isfinite(shapely.get_coordinates(result)).all() or not shapely.is_valid(result):
        raise InvalidParameter(parameter, f"the geometry literal lies outside {code}'s area")
    return result


def _kind(operand: Operand) -> str:
    """What an operand holds, in the words problem details use."""
    if isinstance(operand, Property):
        return _KINDS.get(operand.type, "text")
    if isinstance(operand, Fold | str):
        return "text"
    if isinstance(operand, bool):
        return "boolean"
    if isinstance(operand, int | float):
        return "number"
    return "timestamp" if isinstance(operand, datetime) else "date"


def _label(operand: Operand) -> str:
    """``floors (integer)``, ``'abc' (text)``."""
    kind = operand.type if isinstance(operand, Property) else _kind(operand)
    return f"{_name(operand)} ({kind})"


def _name(operand: Operand) -> str:
    if isinstance(operand, Property):
        return operand.name
    if isinstance(operand, Fold):
        return f"{operand.function.upper()}({_name(operand.arg)})"
    if isinstance(operand, date):
        return f"{operand.isoformat()!r}"
    return repr(operand)


class _Checker:
    """pygeofilter's AST → filter nodes: names, literal types, functions and size checked."""

    def __init__(self, props: dict[str, Property], filter_crs: str, layer_id: str) -> None:
        self.props = props
        self.filter_crs = filter_crs
        self.layer_id = layer_id
        self.terms = 0
        self.functions = 0

    def condition(self, node: Any, depth: int) -> FilterNode:
        self.terms += 1
        if self.terms > MAX_TERMS or depth > MAX_DEPTH:
            raise _invalid(f"the filter is too complex (more than {MAX_TERMS} terms or "
                           f"{MAX_DEPTH} levels)")
        if isinstance(node, ast.And | ast.Or):
            kind = type(node)
            terms, stack = [], [node]
            while stack:  # pygeofilter nests "a AND b AND c" to the left: flatten
                item = stack.pop()
                if type(item) is kind:
                    stack += [item.rhs, item.lhs]
                else:
                    terms.append(self.condition(item, depth + 1))
            return And(tuple(terms)) if kind is ast.And else Or(tuple(terms))
        if isinstance(node, ast.Not):
            return Not(self.condition(node.sub_node, depth + 1))
        if isinstance(node, ast.Comparison) and type(node) in _COMPARISONS:
            lhs, rhs = self.scalar(node.lhs), self.scalar(node.rhs)
            rhs = self.same_kind(rhs, lhs)
            lhs = self.same_kind(lhs, rhs)
            return Compare(_COMPARISONS[type(node)], lhs, rhs)
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.In):
            if not isinstance(node.sub_nodes, list) or not node.sub_nodes:
                raise _invalid("IN needs a list of values")
            lhs = self.scalar(node.lhs)
            items = tuple(self.same_kind(self.literal_only(v, "IN"), lhs)
                          for v in node.sub_nodes)
            return InList(lhs, items, negate=node.not_)
        if isinstance(node, ast.Between):
            lhs = self.scalar(node.lhs)
            low = self.same_kind(self.literal_only(node.low, "BETWEEN"), lhs)
            high = self.same_kind(self.literal_only(node.high, "BETWEEN"), lhs)
            return Between(lhs, low, high, negate=node.not_)
        if isinstance(node, ast.IsNull):
            if not isinstance(node.lhs, ast.Attribute):
                raise _invalid("IS NULL needs a property name on its left")
            return IsNull(self.prop(node.lhs.name), negate=node.not_)
        if type(node) in _SPATIAL:
            return self.spatial(_SPATIAL[type(node)], node.lhs, node.rhs)
        if isinstance(node, ast.BBox):  # ECQL's BBOX(geometry, minx, miny, maxx, maxy)
            if node.crs:
                raise _invalid("give the CRS of BBOX with filter-crs")
            box = _bbox_polygon([node.minx, node.miny, node.maxx, node.maxy])
            return self.spatial("intersects", node.lhs, values.Geometry(box.__geo_interface__))
        raise _invalid(f"unsupported in filters: {_describe(node)}; webmap supports "
                       "comparisons, AND/OR/NOT, LIKE, IN, BETWEEN, IS NULL, CASEI, ACCENTI "
                       "and the S_ spatial functions")

    def prop(self, name: str) -> Property:
        found = self.props.get(name)
        if found is None:
            known = ", ".join(self.props)
            raise _invalid(f"unknown property {name!r} in filter; the queryables of "
                           f"collection {self.layer_id!r} are: {known}")
        return found

    def scalar(self, node: Any, nesting: int = 0) -> Operand:
        """A property, CASEI/ACCENTI of a text operand, or a text, number, boolean or date."""
        if isinstance(node, ast.Attribute):
            found = self.prop(node.name)
            if found.type == GEOMETRY:
                raise _invalid(f"{GEOMETRY} is compared with spatial functions such as "
                               f"S_INTERSECTS({GEOMETRY}, POINT(24.94 60.17))")
            return found
        if isinstance(node, ast.Function) and node.name.lower() in _FUNCTIONS:
            function = _FUNCTIONS[node.name.lower()]
            if len(node.arguments) != 1:
                raise _invalid(f"{function.upper()} takes one argument")
            self.functions += 1
            if self.functions > MAX_FUNCTIONS:
                raise _invalid(f"the filter is too costly: more than {MAX_FUNCTIONS} CASEI/"
                               "ACCENTI calls; each runs on every row")
            if nesting >= MAX_FUNCTION_DEPTH:
                raise _invalid(f"the filter nests CASEI/ACCENTI more than "
                               f"{MAX_FUNCTION_DEPTH} deep")
            arg = self.scalar(node.arguments[0], nesting + 1)
            if _kind(arg) != "text":
                raise _invalid(f"{function.upper()} needs text; {_name(arg)} is a {_kind(arg)}")
            return Fold(function, arg)
        if isinstance(node, ast.Function):
            raise _invalid(f"unsupported function {node.name.upper()}(); filters may use "
                           "CASEI and ACCENTI")
        if isinstance(node, bool | str | date):
            return node
        if isinstance(node, int | float):
            if not math.isfinite(node) or abs(node) > 2**63 - 1:
                raise _invalid(f"the number {node!r} is out of range")
            return node
        raise _invalid(f"unsupported in filters: {_describe(node)}")

    def literal_only(self, node: Any, where: str) -> Operand:
        value = self.scalar(node)
        if isinstance(value, Property) or (isinstance(value, Fold) and _has_property(value)):
            raise _invalid(f"{where} takes literal values, not the property {_name(value)}")
        return value

    def same_kind(self, value: Operand, other: Operand) -> Operand:
        """``value``, if it can be compared with ``other``; text literals that are ISO dates
        become dates when compared with a date property."""
        want, have = _kind(other), _kind(value)
        if want == have:
            return value
        if isinstance(value, str) and want in {"date", "timestamp"}:
            try:
                return date.fromisoformat(value) if want == "date" \
                    else datetime.fromisoformat(value)
            except ValueError:
                pass
        raise _invalid(f"cannot compare {_label(other)} with {_label(value)}")

    def like(self, node: Any) -> Like:
        lhs = self.scalar(node.lhs)
        if _kind(lhs) != "text":
            raise _invalid(f"LIKE needs text; {_name(lhs)} is a {_kind(lhs)}")
        raw_pattern = node.pattern
        if isinstance(raw_pattern, dict | list):  # pygeofilter leaves a JSON pattern unread
            try:
                raw_pattern = walk_cql_json(raw_pattern)
            except (ValueError, TypeError, KeyError, IndexError):
                raise _invalid("LIKE needs a text pattern such as 'Kes%'") from None
        pattern = self.literal_only(raw_pattern, "LIKE")
        if _kind(pattern) != "text":
            raise _invalid("LIKE needs a text pattern such as 'Kes%'")
        return Like(lhs, pattern, negate=node.not_)

    def spatial(self, op: str, lhs: Any, rhs: Any) -> Spatial:
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            lhs, rhs, op = rhs, lhs, _CONVERSE.get(op, op)
        name = f"S_{op.upper()}"
        if not isinstance(lhs, ast.Attribute) or isinstance(rhs, ast.Attribute):
            raise _invalid(f"{name} compares the property {GEOMETRY!r} with a geometry literal")
        if self.prop(lhs.name).type != GEOMETRY:
            raise _invalid(f"{name} needs the property {GEOMETRY!r}, not {lhs.name!r}")
        return Spatial(op, checked_geometry(self.geometry_literal(rhs, name), self.filter_crs))

    def geometry_literal(self, node: Any, name: str) -> Any:
        if isinstance(node, ast.Function) and node.name.lower() == "bbox":
            return _bbox_polygon(list(node.arguments))
        if isinstance(node, values.Envelope):
            return shapely.box(min(node.x1, node.x2), min(node.y1, node.y2),
                               max(node.x1, node.x2), max(node.y1, node.y2))
        if isinstance(node, values.Geometry):
            if "crs" in node.geometry:
                raise _invalid("give the CRS of geometry literals with filter-crs, not SRID=")
            try:
                return shapely.geometry.shape(node.geometry)
            except (ShapelyError, ValueError, TypeError, KeyError, IndexError,
                    AttributeError):
                raise _invalid(f"the geometry literal of {name} is not valid") from None
        raise _invalid(f"{name} needs a geometry literal (WKT, GeoJSON or BBOX), "
                       f"got {_describe(node)}")


def _has_property(operand: Operand) -> bool:
    if isinstance(operand, Fold):
        return _has_property(operand.arg)
    return isinstance(operand, Property)


def _describe(node: Any) -> str:
    """A short name for an AST node or literal in problem details."""
    if isinstance(node, ast.Function):
        return f"function {node.name.upper()}()"
    if isinstance(node, ast.TemporalPredicate):
        return f"temporal function T_{node.op.name}"
    if isinstance(node, ast.Arithmetic):
        return f"arithmetic ({node.op.value})"
    name = type(node).__name__
    names = {"Include": "INCLUDE/EXCLUDE", "Relate": "RELATE", "DistanceWithin": "DWITHIN",
             "DistanceBeyond": "BEYOND", "Interval": "an INTERVAL literal", "list": "an array"}
    return names.get(name, name if isinstance(node, ast.Node) else f"a {name} literal")

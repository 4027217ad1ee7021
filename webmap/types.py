"""Shared aliases and dataclasses: the vocabulary between ingest, store and the APIs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

BBox = tuple[float, float, float, float]
"""minx, miny, maxx, maxy; in CRS84 (lon/lat) unless a name says otherwise."""

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class MediaType(StrEnum):
    """Media types webmap answers with."""

    JSON = "application/json"
    GEOJSON = "application/geo+json"
    HTML = "text/html"
    PROBLEM = "application/problem+json"
    OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
    MVT = "application/vnd.mapbox-vector-tile"
    PNG = "image/png"


class LayerKind(StrEnum):
    """What a layer holds."""

    VECTOR = "vector"
    RASTER = "raster"


@dataclass(frozen=True)
class Field:
    """One attribute of a vector layer; ``type`` is a JSON Schema type or ``date``/``datetime``."""

    name: str
    type: str


@dataclass(frozen=True, kw_only=True)
class LayerInfo:
    """A layer as the catalogue knows it; feature count and bbox live only here."""

    id: str
    kind: LayerKind
    title: str
    source_crs: str
    bbox: BBox
    feature_count: int
    geometry_type: str
    fields: tuple[Field, ...] = ()
    version: str
    updated: str
    description: str = ""
    attribution: str = ""
    location: str = ""
    """Where the backend keeps the data: a file under the data directory or a table name."""
    id_field: str = ""
    """The attribute that keeps feature ids stable across replacements ('' for none)."""
    time_field: str = ""
    """The temporal property ('' for the first date or datetime attribute)."""
    time_extent: tuple[str | None, str | None] = (None, None)
    """The first and last value of the temporal property (ISO 8601; None: unknown)."""
    editable: bool = False
    """Staff may create, replace, update and delete its features (Part 4)."""
    max_fid: int = 0
    """The greatest feature id of this version; ids run 1..N without gaps when it equals
    ``feature_count`` (0: not recorded, taken as dense)."""

    @property
    def temporal_field(self) -> Field | None:
        """The property ``datetime`` filters on: the one named at import, else the first date
        or datetime attribute; None when the layer has none."""
        for field in self.fields:
            if (field.name == self.time_field if self.time_field
                    else field.type in {"date", "datetime"}):
                return field
        return None

    @property
    def dense_ids(self) -> bool:
        """Whether feature ids run 1..N, so offset k is "fid > k"."""
        return self.max_fid in (0, self.feature_count)


@dataclass(frozen=True, kw_only=True)
class ItemQuery:
    """A parsed items request; bbox in CRS84, ``after`` is the keyset cursor (last fid seen)."""

    bbox: BBox | None = None
    area: Any = None
    """The exact bbox filter as a CRS84 shapely polygon when the bbox was given in another CRS
    (a rectangle there is not one in CRS84); ``bbox`` is then its envelope."""
    limit: int = 10
    offset: int = 0
    after: int | None = None
    properties: tuple[tuple[str, object], ...] = ()
    """Equality filters, values already cast to the field's type."""
    filter: FilterNode | None = None
    """A validated CQL2 filter (names checked against the queryables, geometries in CRS84)."""
    count: bool = True


# -- Filters: the validated CQL2 subset every backend translates (OGC API - Features Part 3) --


@dataclass(frozen=True)
class Property:
    """A queryable of the layer (``type`` as in ``Field``; ``geometry`` for the geometry)."""

    name: str
    type: str


@dataclass(frozen=True)
class Fold:
    """CASEI or ACCENTI applied to a text operand."""

    function: str
    """``casei`` or ``accenti``."""
    arg: Operand


Scalar = str | int | float | bool | date
"""A literal; ``date`` includes ``datetime``."""
Operand = Property | Fold | Scalar


@dataclass(frozen=True)
class Compare:
    """``lhs op rhs`` with op one of ``= <> < <= > >=``."""

    op: str
    lhs: Operand
    rhs: Operand


@dataclass(frozen=True)
class Like:
    """``lhs [NOT] LIKE pattern``: ``%`` any run, ``_`` one character, ``\\`` escapes."""

    lhs: Operand
    pattern: Operand
    """A text literal, or CASEI/ACCENTI of one."""
    negate: bool = False


@dataclass(frozen=True)
class InList:
    """``lhs [NOT] IN (values)``."""

    lhs: Operand
    values: tuple[Operand, ...]
    negate: bool = False


@dataclass(frozen=True)
class Between:
    """``lhs [NOT] BETWEEN low AND high`` (inclusive)."""

    lhs: Operand
    low: Operand
    high: Operand
    negate: bool = False


@dataclass(frozen=True)
class IsNull:
    """``lhs IS [NOT] NULL``."""

    lhs: Property
    negate: bool = False


@dataclass(frozen=True)
class Spatial:
    """``S_<op>(geometry, literal)``: op a shapely predicate name, the literal in CRS84."""

    op: str
    geometry: Any


@dataclass(frozen=True)
class And:
    """Every term holds."""

    terms: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Or:
    """Some term holds."""

    terms: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Not:
    """The term does not hold (SQL three-valued logic: unknown stays unknown)."""

    term: FilterNode


FilterNode = Compare | Like | InList | Between | IsNull | Spatial | And | Or | Not


@dataclass(frozen=True, kw_only=True)
class ItemPage:
    """Features of one page: ids, shapely geometries in CRS84, property dicts."""

    ids: list[int]
    geometries: npt.NDArray[np.object_]
    properties: list[dict[str, Any]]
    number_matched: int | None
    next_after: int | None
    """The cursor for the next page, or None when this page is the last."""


@dataclass(frozen=True, kw_only=True)
class ImportReport:
    """What an import did, for the CLI, the staff API and logs."""

    layer_id: str
    kind: LayerKind
    title: str
    feature_count: int
    source_crs: str
    bbox: BBox
    geometry_type: str
    repaired: int = 0
    dropped: int = 0
    warnings: tuple[str, ...] = ()
    id_field: str = ""
    """The attribute feature ids follow ('' when they are positions in the file)."""
    time_field: str = ""
    """The temporal property: named at import, else the first date or datetime attribute."""
    time_extent: tuple[str | None, str | None] = (None, None)
    """Its first and last value (ISO 8601)."""
    editable: bool = False
    """Staff may edit its features through OGC API - Features Part 4."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"layer_id": self.layer_id, "kind": str(self.kind), "title": self.title,
                "feature_count": self.feature_count, "source_crs": self.source_crs,
                "bbox": list(self.bbox), "geometry_type": self.geometry_type,
                "repaired": self.repaired, "dropped": self.dropped,
                "warnings": list(self.warnings), "id_field": self.id_field or None,
                "time_field": self.time_field or None, "editable": self.editable}


@dataclass(kw_only=True)
class NormalisedLayer:
    """An import's result before it is stored.

    Vector: ``frame`` is a GeoDataFrame in CRS84 with clean column names and one geometry
    family. Raster: ``raster_path`` is a Cloud Optimized GeoTIFF written aside.
    """

    report: ImportReport
    frame: Any = None
    raster_path: Path | None = None
    id_field: str = ""
    """The column of ``frame`` that identifies features ('' for none)."""
    fids: Any = None
    """Feature ids to keep as they are, one per row of ``frame`` (a restored backup)."""

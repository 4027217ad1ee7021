"""A plan as the law writes it: objects with regulation groups, regulations with values.

One model for both national formats (Finland's Ryhti plan JSON, Sweden's NGP detaljplan): the
readers in ``ryhti.py`` and ``ngp.py`` fill it, ``layers.py`` turns its objects into layers,
``storage.py`` keeps it as JSON. Texts are ``{"fi": …, "sv": …, "en": …}`` (other ISO 639-1
codes kept as the file gives them); codes keep their URI (or catalogue id) and carry the label
the shipped code lists know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Text = dict[str, str]
"""Language code -> text."""
ObjectKind = Literal["area", "line", "point"]
KINDS: tuple[ObjectKind, ...] = ("area", "line", "point")
FAMILY_KIND: Mapping[str, ObjectKind] = {
    "Polygon": "area", "MultiPolygon": "area", "LineString": "line",
    "MultiLineString": "line", "Point": "point", "MultiPoint": "point"}


@dataclass(frozen=True, kw_only=True)
class Code:
    """A code from a code list: its URI (or catalogue id), the short code, the known label."""

    uri: str
    code: str
    label: Text = field(default_factory=dict)
    known: bool = True
    """False when the shipped code lists do not know it (the import warns)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"uri": self.uri, "code": self.code, "label": dict(self.label)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Code:
        """Back from ``as_dict``."""
        return cls(uri=str(data["uri"]), code=str(data["code"]),
                   label={str(k): str(v) for k, v in dict(data.get("label") or {}).items()})


@dataclass(frozen=True, kw_only=True)
class Value:
    """A regulation's value: a number with unit, a text per language, a code or a period."""

    data_type: str
    """As the file names it: ``PositiveNumeric``, ``LocalizedText``, ``decimaltal``, ``text``…"""
    number: float | None = None
    unit: str | None = None
    text: Text = field(default_factory=dict)
    code: Code | None = None
    qualifier: str | None = None
    """``max``, ``min`` or ``exakt`` where the model says which (NGP ``vardetyp``)."""
    begin: str | None = None
    end: str | None = None
    description: str | None = None
    """What the value is of (NGP ``beskrivning``: ``exploatering``, ``antal``…)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, leaving out what is not set."""
        out: dict[str, Any] = {"type": self.data_type}
        if self.number is not None:
            out["number"] = self.number
        if self.unit:
            out["unit"] = self.unit
        if self.text:
            out["text"] = dict(self.text)
        if self.code is not None:
            out["code"] = self.code.as_dict()
        for key in ("qualifier", "begin", "end", "description"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Value:
        """Back from ``as_dict``."""
        number = data.get("number")
        return cls(data_type=str(data["type"]),
                   number=float(number) if number is not None else None,
                   unit=data.get("unit"), text=dict(data.get("text") or {}),
                   code=Code.from_dict(data["code"]) if data.get("code") else None,
                   qualifier=data.get("qualifier"), begin=data.get("begin"),
                   end=data.get("end"), description=data.get("description"))


@dataclass(frozen=True, kw_only=True)
class Addition:
    """Additional information on a regulation (Ryhti ``additionalInformations``)."""

    kind: Code
    value: Value | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {"kind": self.kind.as_dict()}
        if self.value is not None:
            out["value"] = self.value.as_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Addition:
        """Back from ``as_dict``."""
        return cls(kind=Code.from_dict(data["kind"]),
                   value=Value.from_dict(data["value"]) if data.get("value") else None)


@dataclass(frozen=True, kw_only=True)
class Regulation:
    """One regulation: its kind (a code), values, verbal text per language, extra information."""

    key: str
    kind: Code
    values: tuple[Value, ...] = ()
    verbal: Text = field(default_factory=dict)
    additions: tuple[Addition, ...] = ()
    status: Code | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {"key": self.key, "kind": self.kind.as_dict(),
                               "values": [v.as_dict() for v in self.values]}
        if self.verbal:
            out["verbal"] = dict(self.verbal)
        if self.additions:
            out["additions"] = [a.as_dict() for a in self.additions]
        if self.status is not None:
            out["status"] = self.status.as_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Regulation:
        """Back from ``as_dict``."""
        return cls(key=str(data["key"]), kind=Code.from_dict(data["kind"]),
                   values=tuple(Value.from_dict(v) for v in data.get("values") or ()),
                   verbal=dict(data.get("verbal") or {}),
                   additions=tuple(Addition.from_dict(a) for a in data.get("additions") or ()),
                   status=Code.from_dict(data["status"]) if data.get("status") else None)


@dataclass(frozen=True, kw_only=True)
class RegulationGroup:
    """A regulation group: letter code (``AK-1``), title, group/colour number, regulations."""

    key: str
    letter_code: str | None = None
    title: Text = field(default_factory=dict)
    number: int | None = None
    """The group number (Ryhti ``groupNumber``)."""
    colour: str | None = None
    """The colour the model gives (Ryhti ``colorNumber``, Boverket ``farg``), as written."""
    regulations: tuple[Regulation, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"key": self.key, "letter_code": self.letter_code, "title": dict(self.title),
                "number": self.number, "colour": self.colour,
                "regulations": [r.as_dict() for r in self.regulations]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegulationGroup:
        """Back from ``as_dict``."""
        number = data.get("number")
        return cls(key=str(data["key"]), letter_code=data.get("letter_code"),
                   title=dict(data.get("title") or {}),
                   number=int(number) if number is not None else None,
                   colour=data.get("colour"),
                   regulations=tuple(Regulation.from_dict(r)
                                     for r in data.get("regulations") or ()))


@dataclass(frozen=True, kw_only=True)
class PlanObject:
    """A plan object: a geometry (shapely, in ``crs``) and the regulation groups it carries."""

    key: str
    kind: ObjectKind
    geometry: Any
    crs: str
    name: Text = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    """Keys of its regulation groups, in the order the file relates them."""
    status: Code | None = None


@dataclass(kw_only=True)
class Plan:
    """A whole plan as read from a file, before it is stored."""

    id: str
    model: Literal["ryhti", "ngp"]
    source_key: str
    """The plan's own identifier in the file (Ryhti ``planKey``, NGP ``objektidentitet``)."""
    name: Text
    municipality: str | None
    status: Code | None
    description: Text
    boundary: Any
    """The plan area (shapely, in ``crs``), or None when the file has none."""
    crs: str
    general: tuple[RegulationGroup, ...]
    groups: dict[str, RegulationGroup]
    objects: tuple[PlanObject, ...]
    relations: int
    """How many object-to-group relations the file states (all of them, resolvable or not)."""
    identifier: str | None = None
    """The plan's public designation (NGP ``beteckning``, Ryhti ``producerPlanIdentifier``)."""
    dates: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def regulation_count(self) -> int:
        """Regulations in all groups, general ones included."""
        return sum(len(g.regulations) for g in (*self.groups.values(), *self.general))


def first_text(text: Mapping[str, str], lang: str = "fi") -> str:
    """The text in ``lang``, else Finnish, Swedish, English, else any."""
    for candidate in (lang, "fi", "sv", "en"):
        if text.get(candidate):
            return text[candidate]
    return next((v for v in text.values() if v), "")

"""Finland's Ryhti plan JSON (SYKE's national plan data model) -> ``Plan``.

Reads a ``SpatialPlan`` document, or the plan inside a ``LocalDetailedPlanMatter`` (the last
phase that carries one). Kept: plan key, name, municipality, life-cycle status, plan area,
description, approval and validity dates, plan objects with their geometry (per-geometry
``srid``), regulation groups (letter code, title, group and colour number), regulations (type,
value, verbal text, additional information), general regulation groups and the relations
between objects and groups. Not read (stays in the stored source document): annexes, plan
maps, cancellation information, recommendations, source data and the matter's phases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..problems import ImportFailed
from .codes import ryhti_code
from .common import (
    crs_code,
    kind_of,
    listing,
    optional_text,
    shape_of,
    text_of,
    unknown_codes_warning,
)
from .model import Addition, Code, Plan, PlanObject, Regulation, RegulationGroup, Value


def looks_like(document: Any) -> bool:
    """A Ryhti plan, matter or plot division document (decided by its members)."""
    if not isinstance(document, Mapping):
        return False
    return bool({"planKey", "planObjects", "planMatterPhases", "geographicalArea"}
                & set(document)) or ("phases" in document and "bindingPlotDivisionType"
                                     in document)


def read_ryhti(document: Mapping[str, Any], *, plan_id: str) -> Plan:
    """The plan in a Ryhti document; ImportFailed naming the object when it cannot be read."""
    name, municipality, identifier = {}, None, None
    plan = document
    if "planMatterPhases" in document:
        plan = _plan_of_matter(document)
        name = text_of(document.get("name"))
        areas = document.get("administrativeAreaIdentifiers") or []
        municipality = (optional_text({"area": areas[0]}, "area", "the plan matter")
                        if isinstance(areas, list) and areas else None)
        identifier = (optional_text(document, "producerPlanIdentifier", "the plan matter")
                      or optional_text(document, "permanentPlanIdentifier", "the plan matter"))
    elif "bindingPlotDivisionType" in document or "phases" in document:
        raise ImportFailed("this Ryhti document is a binding plot division (sitova tonttijako), "
                           "not a plan; webmap reads SpatialPlan documents and the plan in a "
                           "LocalDetailedPlanMatter")
    if not isinstance(plan.get("planKey"), str):
        raise ImportFailed("the Ryhti plan has no 'planKey'; is this a SpatialPlan document?")
    reader = _Reader()
    name = name or text_of(plan.get("name"))
    boundary, crs = None, None
    if plan.get("geographicalArea") is not None:
        boundary, crs = reader.geometry(plan["geographicalArea"], "the plan area")
    groups = {}
    for index, data in enumerate(_list(plan, "planRegulationGroups")):
        group = reader.group(data, f"regulation group {index + 1}", "planRegulationGroupKey")
        groups[group.key] = group
    general = tuple(reader.group(data, f"general regulation group {index + 1}",
                                 "generalRegulationGroupKey")
                    for index, data in enumerate(_list(plan, "generalRegulationGroups")))
    objects_raw = _list(plan, "planObjects")
    for index, data in enumerate(objects_raw):
        if not isinstance(data, Mapping) or not isinstance(data.get("planObjectKey"), str):
            raise ImportFailed(f"plan object {index + 1} has no 'planObjectKey'")
    object_keys = {o["planObjectKey"] for o in objects_raw}
    related: dict[str, list[str]] = {}
    relations = _list(plan, "planRegulationGroupRelations")
    nowhere = []
    for index, relation in enumerate(relations):
        if not isinstance(relation, Mapping):
            raise ImportFailed(f"relation {index + 1} of planRegulationGroupRelations is not an "
                               "object")
        obj, group_key = relation.get("planObjectKey"), relation.get("planRegulationGroupKey")
        if not isinstance(obj, str) or not isinstance(group_key, str):
            raise ImportFailed(f"relation {index + 1} of planRegulationGroupRelations needs "
                               "'planObjectKey' and 'planRegulationGroupKey' as text")
        if obj not in object_keys or group_key not in groups:
            nowhere.append(f"{obj} -> {group_key}")
            continue
        related.setdefault(obj, []).append(group_key)
    objects = []
    for data in objects_raw:
        key = data["planObjectKey"]
        where = f"plan object {key}"
        geometry, object_crs = reader.geometry(data.get("geometry"), where)
        crs = crs or object_crs
        objects.append(PlanObject(key=key, kind=kind_of(geometry), geometry=geometry,
                                  crs=object_crs, name=text_of(data.get("name")),
                                  groups=tuple(related.get(key, ())),
                                  status=reader.code(data.get("lifeCycleStatus"))))
    if crs is None:
        raise ImportFailed("the Ryhti plan has neither a plan area nor plan objects")
    status = reader.code(plan.get("lifeCycleStatus"))
    warnings = unknown_codes_warning(reader.codes)
    if nowhere:
        warnings.append(f"{len(nowhere)} regulation group relations point to an object or a "
                        f"group the plan does not have: {listing(nowhere)}")
    bare = [o.key for o in objects if not o.groups]
    if bare:
        warnings.append(f"{len(bare)} plan objects have no regulations: {listing(bare)}")
    dates = {k: str(plan[k]) for k in ("approvalDate",) if isinstance(plan.get(k), str)}
    validity = plan.get("periodOfValidity")
    if isinstance(validity, Mapping):
        dates.update({f"validity_{k}": v for k, v in validity.items()
                      if isinstance(v, str) and v})
    return Plan(id=plan_id, model="ryhti", source_key=plan["planKey"], name=name,
                municipality=municipality, status=status,
                description=text_of(plan.get("planDescription")), boundary=boundary, crs=crs,
                general=general, groups=groups, objects=tuple(objects),
                relations=len(relations), identifier=identifier, dates=dates,
                warnings=warnings)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ImportFailed(f"'{key}' must be a list, not {type(value).__name__}")
    return value


def _plan_of_matter(matter: Mapping[str, Any]) -> Mapping[str, Any]:
    """The last plan in the matter's phases (the one decided last)."""
    found = None
    for phase in _list(matter, "planMatterPhases"):
        decision = phase.get("planDecision") if isinstance(phase, Mapping) else None
        plans = decision.get("plans") if isinstance(decision, Mapping) else None
        if isinstance(plans, list) and plans and isinstance(plans[-1], Mapping):
            found = plans[-1]
    if found is None:
        raise ImportFailed("the Ryhti plan matter has no plan in its phases "
                           "(planMatterPhases[].planDecision.plans)")
    return found


class _Reader:
    """Reads the parts of one document and remembers every code it met."""

    def __init__(self) -> None:
        self.codes: list[Code] = []

    def code(self, value: Any) -> Code | None:
        if not isinstance(value, str) or not value.strip():
            return None
        code = ryhti_code(value)
        self.codes.append(code)
        return code

    def geometry(self, data: Any, where: str) -> tuple[Any, str]:
        if not isinstance(data, Mapping):
            raise ImportFailed(f"{where} has no geometry")
        return shape_of(data.get("geometry"), where), crs_code(data.get("srid"), where)

    def group(self, data: Any, where: str, key_name: str) -> RegulationGroup:
        if not isinstance(data, Mapping) or not isinstance(data.get(key_name), str):
            raise ImportFailed(f"{where} has no '{key_name}'")
        key = data[key_name]
        regulations = tuple(self.regulation(r, f"regulation {i + 1} of group {key}")
                            for i, r in enumerate(_list(data, "planRegulations")))
        number = data.get("groupNumber")
        if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
            raise ImportFailed(f"{where}: 'groupNumber' must be a whole number")
        return RegulationGroup(key=key, letter_code=optional_text(data, "letterIdentifier", where),
                               title=text_of(data.get("titleOfPlanRegulation")),
                               number=number, colour=optional_text(data, "colorNumber", where),
                               regulations=regulations)

    def regulation(self, data: Any, where: str) -> Regulation:
        if not isinstance(data, Mapping):
            raise ImportFailed(f"{where} is not an object")
        kind = self.code(data.get("type"))
        if kind is None:
            raise ImportFailed(f"{where} has no 'type' (a RY_Kaavamaarayslaji code)")
        value = self.value(data.get("value"), where)
        additions = []
        for item in _list(data, "additionalInformations"):
            if isinstance(item, Mapping) and (code := self.code(item.get("type"))):
                additions.append(Addition(kind=code, value=self.value(item.get("value"), where)))
        for verbal in _list(data, "verbalRegulations"):
            if code := self.code(verbal):
                additions.append(Addition(kind=code))
        values = (value,) if value is not None else ()
        verbal_text = value.text if value is not None and value.text else {}
        return Regulation(key=optional_text(data, "planRegulationKey", where) or "", kind=kind,
                          values=values, verbal=verbal_text, additions=tuple(additions),
                          status=self.code(data.get("lifeCycleStatus")))

    def value(self, data: Any, where: str) -> Value | None:
        if data is None:
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("dataType"), str):
            raise ImportFailed(f"{where} has a value without 'dataType'")
        data_type = data["dataType"]
        number = data.get("number")
        if number is not None and (isinstance(number, bool)
                                   or not isinstance(number, (int, float))):
            raise ImportFailed(f"{where}: the value {number!r} is not a number")
        code = None
        if data.get("code") is not None:
            listed = (optional_text(data, "codeList", where) or "").rstrip("/")
            raw = optional_text(data, "code", where) or ""
            uri = raw if "://" in raw or not listed else f"{listed}/code/{raw}"
            code = self.code(uri)
        return Value(data_type=data_type,
                     number=float(number) if number is not None else None,
                     unit=optional_text(data, "unitOfMeasure", where),
                     text=text_of(data.get("text")), code=code,
                     begin=optional_text(data, "begin", where),
                     end=optional_text(data, "end", where))

"""Sweden's digital detaljplan as delivered to Lantmäteriet's NGP (BFS 2020:5, JSON) -> ``Plan``.

A FeatureCollection whose features have ``geometry: null``: the ``detaljplan`` feature carries
the plan (kommun, beteckning, namn, status, syfte, decisions) with its boundary in
``plangeometri``; each ``användningsbestämmelse``, ``egenskapsbestämmelse`` and ``administrativ
bestämmelse`` is one provision with its geometries in ``bestammelsegeometri``. Each provision
becomes a regulation group of one regulation (its catalogue reference resolved against the
Boverket catalogue excerpt webmap ships, its ``bestammelsevarde`` as values) and each of its
geometries a plan object. Administrative provisions and provisions without geometry are the
plan's general regulations. Not read (kept in the stored source document): plan descriptions
and decision documents, geometry metadata, quality descriptions, height systems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import shapely

from ..problems import ImportFailed
from .codes import boverket, boverket_code, ngp_status
from .common import crs_code, kind_of, listing, optional_text, shape_of, unknown_codes_warning
from .model import Code, Plan, PlanObject, Regulation, RegulationGroup, Value

PLAN = "detaljplan"
USE, PROPERTY, ADMIN = "användningsbestämmelse", "egenskapsbestämmelse", "administrativ bestämmelse"
PROVISIONS = (USE, PROPERTY, ADMIN)
NUMERIC = {"decimaltal", "heltal"}


def looks_like(document: Any) -> bool:
    """An NGP detaljplan delivery: its media type, or a feature of type ``detaljplan``."""
    if not isinstance(document, Mapping):
        return False
    if "detaljplan" in str(document.get("feature:mediatyp", "")):
        return True
    features = document.get("features")
    return isinstance(features, list) and any(
        isinstance(f, Mapping) and isinstance(f.get("properties"), Mapping)
        and f["properties"].get("feature:typ") == PLAN for f in features[:1000])


def read_ngp(document: Mapping[str, Any], *, plan_id: str) -> Plan:
    """The detaljplan in an NGP delivery; ImportFailed naming the feature when unreadable."""
    features = document.get("features")
    if not isinstance(features, list):
        raise ImportFailed("the detaljplan delivery has no 'features' list")
    default_crs = _collection_crs(document)
    typed: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, Mapping) or not isinstance(feature.get("properties"), Mapping):
            raise ImportFailed(f"feature {index + 1} has no 'properties'")
        props = feature["properties"]
        key = str(props.get("objektidentitet") or feature.get("id") or f"feature-{index + 1}")
        typed.setdefault(str(props.get("feature:typ", "")), []).append((key, props))
    plans = typed.get(PLAN, [])
    if len(plans) != 1:
        raise ImportFailed(f"the delivery must hold exactly one 'detaljplan' feature, it holds "
                           f"{len(plans)}")
    plan_key, props = plans[0]
    warnings: list[str] = []
    codes: list[Code] = []
    boundary, crs = _boundary(props, plan_key, default_crs)
    groups: dict[str, RegulationGroup] = {}
    general: list[RegulationGroup] = []
    objects: list[PlanObject] = []
    references: list[tuple[str, str]] = []
    for kind in PROVISIONS:
        for key, provision in typed.get(kind, []):
            group = _group(key, provision, codes)
            geometries = _geometries(provision, f"{kind} {key}", default_crs, warnings)
            if provision.get("detaljplan") not in (None, plan_key):
                warnings.append(f"{kind} {key} belongs to detaljplan "
                                f"{provision.get('detaljplan')}, not {plan_key}")
            targets = provision.get("reglerarAnvandningsbestammelse") or []
            if not isinstance(targets, list):
                raise ImportFailed(f"{kind} {key}: 'reglerarAnvandningsbestammelse' must be a "
                                   "list of ids")
            references.extend((key, str(target)) for target in targets)
            if kind == ADMIN or not geometries:
                if kind != ADMIN:
                    warnings.append(f"{kind} {key} has no geometry; shown with the plan's "
                                    "general regulations")
                general.append(group)
                if not geometries:
                    continue
            groups[key] = group
            for number, (geometry, geometry_crs) in enumerate(geometries, start=1):
                object_key = key if len(geometries) == 1 else f"{key}#{number}"
                objects.append(PlanObject(key=object_key, kind=kind_of(geometry),
                                          geometry=geometry, crs=geometry_crs,
                                          name=dict(group.title), groups=(key,)))
    other = sorted(t for t in typed if t not in (PLAN, *PROVISIONS))
    if other:
        warnings.append(f"features of types {listing(other)} are not read")
    uses = {key for key, _ in typed.get(USE, [])}
    nowhere = [f"{source} -> {target}" for source, target in references if target not in uses]
    if nowhere:
        warnings.append(f"{len(nowhere)} provisions regulate an användningsbestämmelse the plan "
                        f"does not have: {listing(nowhere)}")
    warnings[:0] = unknown_codes_warning(codes)
    crs = crs or (objects[0].crs if objects else None)
    if crs is None:
        raise ImportFailed("the detaljplan has neither a plan boundary nor provision geometries")
    where = f"detaljplan {plan_key}"
    status_text = optional_text(props, "status", where)
    name, purpose = optional_text(props, "namn", where), optional_text(props, "syfte", where)
    return Plan(id=plan_id, model="ngp", source_key=plan_key,
                name={"sv": name} if name else {},
                municipality=optional_text(props, "kommun", where),
                status=ngp_status(status_text) if status_text else None,
                description={"sv": purpose.strip()} if purpose and purpose.strip() else {},
                boundary=boundary, crs=crs, general=tuple(general), groups=groups,
                objects=tuple(objects), relations=len(references),
                identifier=optional_text(props, "beteckning", where),
                dates=_dates(props), warnings=warnings)


def _collection_crs(document: Mapping[str, Any]) -> str | None:
    crs = document.get("crs")
    properties = crs.get("properties") if isinstance(crs, Mapping) else None
    name = properties.get("name") if isinstance(properties, Mapping) else None
    return crs_code(name, "the delivery's 'crs'") if name else None


def _boundary(props: Mapping[str, Any], key: str, default_crs: str | None
              ) -> tuple[Any, str | None]:
    entries = _geometries(props, f"detaljplan {key}", default_crs, [], member="plangeometri")
    if not entries:
        return None, None
    if len(entries) == 1:
        return entries[0]
    return shapely.union_all([g for g, _ in entries]), entries[0][1]


def _geometries(props: Mapping[str, Any], where: str, default_crs: str | None,
                warnings: list[str], *, member: str = "bestammelsegeometri"
                ) -> list[tuple[Any, str]]:
    """Each ``geometri.position`` with its ``koordinatsystemPlan`` (or the delivery's crs)."""
    entries = props.get(member) or []
    if not isinstance(entries, list):
        raise ImportFailed(f"{where}: '{member}' must be a list")
    found = []
    for number, entry in enumerate(entries, start=1):
        geometri = entry.get("geometri") if isinstance(entry, Mapping) else None
        if not isinstance(geometri, Mapping):
            raise ImportFailed(f"{where}: {member} {number} has no 'geometri'")
        here = f"{where} ({member} {number})"
        geometry = shape_of(geometri.get("position"), here)
        declared = geometri.get("koordinatsystemPlan") or default_crs
        crs = crs_code(declared, here)
        kind = str(geometri.get("typ", ""))
        if geometry.geom_type.startswith("Multi") and not kind.startswith("multi"):
            warnings.append(f"{here} is a {geometry.geom_type} but declared as '{kind}', where "
                            "NGP allows a single part only")
        found.append((geometry, crs))
    return found


def _group(key: str, props: Mapping[str, Any], codes: list[Code]) -> RegulationGroup:
    where = f"{props.get('feature:typ')} {key}"
    reference = optional_text(props, "planbestammelsekatalogreferens", where)
    if reference and reference.strip():
        kind = boverket_code(reference)
        codes.append(kind)
    else:
        category = optional_text(props, "kategori", where) or str(props.get("feature:typ"))
        kind = Code(uri=f"ngp:kategori:{category}", code=category, label={"sv": category})
    formulation = (optional_text(props, "bestammelseformulering", where) or "").strip()
    catalogue = boverket().get((reference or "").strip(), {}) or _use_of(props, where)
    letter = (optional_text(props, "beteckning", where) or catalogue.get("beteckning")
              or "").strip("#- ")
    raw_values = props.get("bestammelsevarde") or []
    if not isinstance(raw_values, list):
        raise ImportFailed(f"{where}: 'bestammelsevarde' must be a list")
    values = tuple(_value(v, where) for v in raw_values)
    regulation = Regulation(key=key, kind=kind, values=values,
                            verbal={"sv": formulation} if formulation else {})
    return RegulationGroup(key=key, letter_code=letter or None,
                           title={"sv": formulation} if formulation else dict(kind.label),
                           colour=catalogue.get("farg"), regulations=(regulation,))


def _use_of(props: Mapping[str, Any], where: str) -> dict[str, str]:
    """For a use provision whose catalogue reference webmap does not ship: the letter and
    colour the catalogue gives every use of its ``anvandningsform`` and ``kategori`` (the
    file spells them in lower case, the catalogue capitalised), when they agree."""
    if props.get("feature:typ") != "användningsbestämmelse":
        return {}
    form = (optional_text(props, "anvandningsform", where) or "").strip().casefold()
    category = (optional_text(props, "kategori", where) or "").strip().casefold()
    if not form or not category:
        return {}
    found = {(p.get("beteckning", "").strip("#- "), p.get("farg", ""))
             for p in boverket().values()
             if p.get("bestammelsetyp") == "Användningsbestämmelse"
             and p.get("anvandningsform", "").casefold() == form
             and p.get("kategori", "").casefold() == category}
    if len(found) != 1:
        return {}
    beteckning, farg = found.pop()
    return {"beteckning": beteckning, "farg": farg}


def _value(data: Any, where: str) -> Value:
    if not isinstance(data, Mapping):
        raise ImportFailed(f"{where}: a bestammelsevarde is not an object")
    data_type = optional_text(data, "datatyp", where) or "text"
    raw = optional_text(data, "variabelvarde", where)
    number = None
    text = {}
    if data_type in NUMERIC:
        try:
            number = float(str(raw).replace(",", ".").replace("\u2212", "-"))
        except ValueError as exc:
            raise ImportFailed(f"{where}: the {data_type} value {raw!r} is not a number") from exc
    elif raw is not None:
        text = {"sv": str(raw)}
    return Value(data_type=data_type, number=number, unit=optional_text(data, "enhet", where),
                 text=text, qualifier=optional_text(data, "vardetyp", where),
                 description=optional_text(data, "beskrivning", where))


def _dates(props: Mapping[str, Any]) -> dict[str, str]:
    dates = {}
    decisions = props.get("beslutsinformation") or []
    for decision in decisions if isinstance(decisions, list) else []:
        if not isinstance(decision, Mapping):
            continue
        if decision.get("datumAntagande"):
            dates["approvalDate"] = str(decision["datumAntagande"])
        in_force = decision.get("datumLagakraft")
        if isinstance(in_force, list) and in_force:
            dates["validity_begin"] = str(in_force[0])
    return dates

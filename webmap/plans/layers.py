"""A plan's objects as layers (areas, lines, points), normalised like every uploaded layer.

Each feature carries its regulation groups: the first group's letter code, the marking it is
drawn with (the letter code's leading capitals, ``AK-1`` -> ``AK``), titles per language, the
group and colour number, the regulations as JSON and as flattened text per language (for QGIS,
CSV and the widget's text alternative).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..crs import transform_geometries
from ..ingest.normalise import normalise_vector
from ..ingest.read import RawLayer
from ..types import NormalisedLayer
from .model import KINDS, ObjectKind, Plan, PlanObject, RegulationGroup, first_text
from .text import groups_text, with_texts

LAYER_SUFFIX: Mapping[ObjectKind, str] = {"area": "areas", "line": "lines", "point": "points"}
KIND_TITLE: Mapping[ObjectKind, Mapping[str, str]] = {
    "area": {"fi": "alueet", "sv": "områden", "en": "areas"},
    "line": {"fi": "viivat", "sv": "linjer", "en": "lines"},
    "point": {"fi": "pisteet", "sv": "punkter", "en": "points"},
}
MARKING_RE = re.compile(r"^[A-ZÅÄÖ]+")
TEXT_LANGS = ("fi", "sv", "en")


def layer_id(plan_id: str, kind: ObjectKind) -> str:
    """The id of a plan's layer of one kind: ``<plan>-areas``, ``-lines``, ``-points``."""
    return f"{plan_id}-{LAYER_SUFFIX[kind]}"


def marking(letter_code: str | None) -> str | None:
    """The plan marking a letter code is drawn with: ``AK-1`` -> ``AK``, ``AO/s`` -> ``AO``."""
    if not letter_code:
        return None
    found = MARKING_RE.match(letter_code.strip())
    return found.group(0) if found else None


def plan_layers(plan: Plan) -> dict[ObjectKind, NormalisedLayer]:
    """One normalised layer per kind of object the plan has."""
    out: dict[ObjectKind, NormalisedLayer] = {}
    for kind in KINDS:
        objects = [o for o in plan.objects if o.kind == kind]
        if objects:
            out[kind] = _layer(plan, kind, objects)
    return out


def _row(plan: Plan, obj: PlanObject) -> dict[str, object]:
    groups: list[RegulationGroup] = [plan.groups[k] for k in obj.groups if k in plan.groups]
    lettered = next((g for g in groups if g.letter_code), None)
    main = lettered or (groups[0] if groups else None)
    row: dict[str, object] = {
        "plan_id": plan.id, "object_key": obj.key, "name": first_text(obj.name),
        "letter_code": lettered.letter_code if lettered else None,
        "marking": marking(lettered.letter_code if lettered else None),
        "title": first_text(main.title) if main else None,
        "group_number": main.number if main else None,
        "colour": main.colour if main else None,
        "status": obj.status.code if obj.status else (plan.status.code if plan.status else None),
        "regulations": json.dumps([with_texts(g) for g in groups], ensure_ascii=False),
    }
    for lang in TEXT_LANGS:
        row[f"title_{lang}"] = (main.title.get(lang) if main else None) or None
        row[f"text_{lang}"] = groups_text(groups, lang) or None
    return row


def _layer(plan: Plan, kind: ObjectKind, objects: list[PlanObject]) -> NormalisedLayer:
    crs = objects[0].crs
    geoms = np.empty(len(objects), dtype=object)
    for index, obj in enumerate(objects):
        geoms[index] = obj.geometry
    for other in {o.crs for o in objects} - {crs}:
        picked = np.array([o.crs == other for o in objects])
        geoms[picked] = transform_geometries(geoms[picked], other, crs)
    frame = pd.DataFrame([_row(plan, o) for o in objects])
    frame["group_number"] = frame["group_number"].astype("Int64")
    raw = RawLayer(frame=frame, geometries=geoms, crs_text=crs, driver="plan")
    words = KIND_TITLE[kind]["fi" if plan.model == "ryhti" else "sv"]
    title = f"{first_text(plan.name) or plan.id} – {words}"
    return normalise_vector(raw, layer_id=layer_id(plan.id, kind), title=title, crs=None,
                            what=f"the plan's {LAYER_SUFFIX[kind]}")

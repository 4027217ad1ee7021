"""The map-composition form: its fields to a map document (the map files' schema) and back.

No Flask here: ``form_to_map`` takes the posted fields, ``map_to_form`` a stored document.
Field names double as element ids (``f-<name>``) so that every error links to its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from ..i18n import LANGUAGES
from ..maps import GEOMETRY_KINDS, MAP_ID
from ..types import BBox
from .wording import sentence

MIN_LAYER_ROWS = 3
BLANK_ROWS = 3
"""Empty layer rows offered below the chosen ones (the form works without script)."""
TIME_ZONES = ("Europe/Helsinki", "Europe/Stockholm", "UTC")
EXTENT = ("west", "south", "east", "north")
EXAMPLES = {"west": "22.67", "south": "60.45", "east": "22.70", "north": "60.46"}
LAYER_FIELD = re.compile(r"^layers\[(\d+)\](?:\.(\w+))?")


Form = MultiDict[str, str]
"""``request.form``."""


@dataclass
class Composition:
    """The form's state: values to show, errors by field name, and the document when valid."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] | None = None


def empty_values() -> dict[str, Any]:
    """A new map's form."""
    return {"id": "", "tms": "WebMercatorQuad", "base": "", "languages": list(LANGUAGES),
            "consult": False, "kinds": ["point"], "show_comments": False,
            "tz": TIME_ZONES[0], "origins": "", "layers": [], "opens": "", "closes": "",
            **dict.fromkeys(EXTENT, ""),
            **{f"title_{lang}": "" for lang in LANGUAGES},
            **{f"description_{lang}": "" for lang in LANGUAGES}}


def padded_rows(rows: list[dict[str, Any]], extra: int = BLANK_ROWS) -> list[dict[str, Any]]:
    """The layer rows plus blank ones to fill in (at least ``MIN_LAYER_ROWS``)."""
    blank = {"layer": "", "style": "", "plan": False, "label": ""}
    wanted = max(MIN_LAYER_ROWS, len(rows) + extra)
    return rows + [dict(blank) for _ in range(wanted - len(rows))]


def _local(value: str | None, zone: str) -> str:
    """An ISO time as ``datetime-local`` wants it, in ``zone``."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(zone))
    return moment.strftime("%Y-%m-%dT%H:%M")


def map_to_form(document: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for a published map's document."""
    values = empty_values()
    title = document.get("title") or {}
    title = {"en": title} if isinstance(title, str) else title
    description = document.get("description") or {}
    description = {"en": description} if isinstance(description, str) else description
    base = document.get("base") or {}
    values.update({
        "id": document.get("id", ""), "tms": document.get("tile_matrix_set", "WebMercatorQuad"),
        "base": (f"layer:{base.get('layer')}" if base.get("type") == "layer"
                 else str(base.get("basemap") or "")),
        "languages": list(document.get("languages") or LANGUAGES),
        "origins": "\n".join(document.get("origins") or []),
        **{f"title_{lang}": title.get(lang, "") for lang in LANGUAGES},
        **{f"description_{lang}": description.get(lang, "") for lang in LANGUAGES}})
    extent = document.get("extent") or []
    if len(extent) == 4:
        values.update({k: f"{v:g}" for k, v in zip(EXTENT, extent, strict=True)})
    consultation = document.get("consultation")
    if consultation:
        zone = TIME_ZONES[0]
        values.update({"consult": True, "kinds": list(consultation.get("geometry") or []),
                       "show_comments": bool(consultation.get("show_comments")),
                       "opens": _local(consultation.get("opens"), zone),
                       "closes": _local(consultation.get("closes"), zone), "tz": zone})
    values["layers"] = padded_rows([
        {"layer": item.get("layer", ""), "style": item.get("style", ""),
         "plan": bool(item.get("plan")), "label": item.get("label") or ""}
        for item in document.get("layers") or []])
    return values


def _form_layers(form: Form) -> list[dict[str, Any]]:
    """The layer rows that name a layer, in order (blank rows dropped)."""
    rows = []
    count = len(form.getlist("layer"))
    styles, labels = form.getlist("style"), form.getlist("label")
    plans = set(form.getlist("plan"))
    for i in range(count):
        rows.append({"layer": form.getlist("layer")[i].strip(),
                     "style": styles[i].strip() if i < len(styles) else "",
                     "label": labels[i].strip() if i < len(labels) else "",
                     "plan": str(i) in plans})
    return [row for row in rows if row["layer"]]


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ".").replace("−", "-"))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _time(text: str, zone: str, name: str, errors: dict[str, str]) -> str | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = "Give a date and time like 2026-11-01 09:00."
        return None
    return moment.replace(tzinfo=ZoneInfo(zone)).isoformat()


def _extent(values: dict[str, Any], bboxes: Sequence[BBox], errors: dict[str, str]
            ) -> list[float] | None:
    given = [values[k] for k in EXTENT]
    if not any(given):
        if not bboxes:
            if not any(name.startswith("layer-") for name in errors):  # fix the layer first
                errors["west"] = "Give the extent, or choose at least one layer to take it from."
            return None
        return [min(b[0] for b in bboxes), min(b[1] for b in bboxes),
                max(b[2] for b in bboxes), max(b[3] for b in bboxes)]
    numbers = [_number(v) for v in given]
    for name, number in zip(EXTENT, numbers, strict=True):
        if number is None:
            errors[name] = (f"Give the {name} edge in decimal degrees, for example "
                            f"{EXAMPLES[name]}.")
    if any(n is None for n in numbers):
        return None
    return [float(n) for n in numbers if n is not None]


def form_to_map(form: Form, *, map_id: str | None, previous: Mapping[str, Any] | None,
                layer_bboxes: Mapping[str, BBox]) -> Composition:
    """Read the posted form; the document is set when the form itself has no errors."""
    values = empty_values()
    for key in ("tms", "base", "origins", "tz", *EXTENT,
                *(f"{kind}_{lang}" for kind in ("title", "description") for lang in LANGUAGES),
                "opens", "closes"):
        values[key] = form.get(key, "").strip()
    values["id"] = map_id or form.get("id", "").strip()
    values["languages"] = [lang for lang in LANGUAGES if lang in form.getlist("languages")]
    values["kinds"] = [k for k in GEOMETRY_KINDS if k in form.getlist("kinds")]
    values["consult"] = form.get("consult") == "yes"
    values["show_comments"] = form.get("show_comments") == "yes"
    rows = _form_layers(form)
    values["layers"] = padded_rows(rows)
    errors: dict[str, str] = {}
    if not MAP_ID.match(values["id"]):
        errors["id"] = "Use 1–64 lower-case letters a–z, digits, - or _ for the map id."
    titles = {lang: values[f"title_{lang}"] for lang in LANGUAGES if values[f"title_{lang}"]}
    if not titles:
        errors["title_fi"] = "Give the map a title in at least one language."
    if not values["languages"]:
        errors["languages"] = "Choose at least one language."
    if values["tz"] not in TIME_ZONES:
        values["tz"] = TIME_ZONES[0]
    chosen = rows
    for i, row in enumerate(rows):
        if row["layer"] not in layer_bboxes:
            errors[f"layer-{i}"] = f"There is no layer {row['layer']}; upload it first."
        if not row["style"]:
            errors[f"style-{i}"] = f"Choose a style for layer {row['layer']}."
    extent = _extent(values, [layer_bboxes[r["layer"]] for r in chosen
                              if r["layer"] in layer_bboxes], errors)
    opens = _time(values["opens"], values["tz"], "opens", errors)
    closes = _time(values["closes"], values["tz"], "closes", errors)
    if values["consult"] and not values["kinds"]:
        errors["kinds"] = "Choose what a comment may point at."
    if not values["base"]:
        errors["base"] = "Choose a base map."
    composition = Composition(values=values, errors=errors)
    if errors:
        return composition
    document: dict[str, Any] = dict(previous or {})
    layers_before = {item.get("layer"): item for item in (previous or {}).get("layers", [])}
    base = values["base"]
    document.update({
        "id": values["id"], "title": titles, "tile_matrix_set": values["tms"],
        "extent": extent, "languages": values["languages"],
        "base": ({"type": "layer", "layer": base.removeprefix("layer:")}
                 if base.startswith("layer:") else {"type": "rendered", "basemap": base}),
        "layers": [{**layers_before.get(r["layer"], {}), "layer": r["layer"],
                    "style": r["style"], "plan": r["plan"],
                    **({"label": r["label"]} if r["label"] else {})} for r in chosen],
        "origins": [line.strip() for line in values["origins"].splitlines() if line.strip()]})
    for row in document["layers"]:
        if "label" in row and not row["label"]:
            del row["label"]
    descriptions = {lang: values[f"description_{lang}"] for lang in LANGUAGES
                    if values[f"description_{lang}"]}
    document.pop("description", None)
    if descriptions:
        document["description"] = descriptions
    document.pop("consultation", None)
    if values["consult"]:
        document["consultation"] = {"opens": opens, "closes": closes, "geometry": values["kinds"],
                                    "show_comments": values["show_comments"]}
    composition.document = document
    return composition


def field_for(problem_field: str) -> str:
    """The form field a publishing problem names (``layers[1].style`` → ``style-1``)."""
    match = LAYER_FIELD.match(problem_field)
    if match:
        row = match.group(1)
        return f"style-{row}" if match.group(2) == "style" else f"layer-{row}"
    head = problem_field.split(".")[0].split("[")[0]
    return {"title": "title_fi", "description": "description_fi", "extent": "west",
            "languages": "languages", "tile_matrix_set": "tms", "base": "base",
            "origins": "origins", "id": "id", "search": "id",
            }.get(head, _consultation_field(problem_field))


def _consultation_field(problem_field: str) -> str:
    part = problem_field.removeprefix("consultation").lstrip(".")
    if part.startswith("opens"):
        return "opens"
    if part.startswith("closes"):
        return "closes"
    if part.startswith("geometry"):
        return "kinds"
    return "consult"


def problem_text(detail: str) -> str:
    """A publishing problem without the field path it starts with (the page links the field)."""
    head, colon, rest = detail.partition(": ")
    if colon and re.fullmatch(r"[\w.\[\]]+", head):
        detail = rest
    return sentence(detail)

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

from ..i18n import FALLBACK, LANGUAGES, staff_t
from ..maps import GEOMETRY_KINDS, MAP_ID
from ..maps.model import DEFAULT_MAX_POINTS, DEFAULT_PHOTOS, MAX_PHOTOS, MAX_POINTS_CEILING
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
            "max_points": str(DEFAULT_MAX_POINTS), "min_zoom": "", "several": False,
            "photos": str(DEFAULT_PHOTOS),
            "tz": TIME_ZONES[0], "origins": "", "layers": [], "opens": "", "closes": "",
            **dict.fromkeys(EXTENT, ""),
            **{f"title_{lang}": "" for lang in LANGUAGES},
            **{f"description_{lang}": "" for lang in LANGUAGES}}


def blank_row() -> dict[str, Any]:
    """A layer row with nothing chosen."""
    return {"layer": "", "style": "", "plan": False, "label": "", "attributes": [],
            "search": False, **{f"title_{lang}": "" for lang in LANGUAGES}}


def padded_rows(rows: list[dict[str, Any]], extra: int = BLANK_ROWS) -> list[dict[str, Any]]:
    """The layer rows plus blank ones to fill in (at least ``MIN_LAYER_ROWS``)."""
    rows = [{**blank_row(), **row} for row in rows]
    blank = blank_row()
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
        zone = consultation.get("time_zone") or TIME_ZONES[0]
        values.update({"consult": True, "kinds": list(consultation.get("geometry") or []),
                       "show_comments": bool(consultation.get("show_comments")),
                       "opens": _local(consultation.get("opens"), zone),
                       "closes": _local(consultation.get("closes"), zone), "tz": zone})
        drawing = consultation.get("drawing") or {}
        values.update({"max_points": str(drawing.get("max_points", DEFAULT_MAX_POINTS)),
                       "min_zoom": "" if drawing.get("min_zoom") is None
                       else str(drawing["min_zoom"]),
                       "several": bool(drawing.get("several")),
                       "photos": str(consultation.get("photos", DEFAULT_PHOTOS))})
    searched = {source.get("layer") for source in document.get("search") or []
                if isinstance(source, Mapping)}
    values["layers"] = padded_rows([
        {"layer": item.get("layer", ""), "style": item.get("style", ""),
         "plan": bool(item.get("plan")), "label": item.get("label") or "",
         "attributes": [a if isinstance(a, str) else str(a.get("field", ""))
                        for a in item.get("attributes") or []],
         "search": item.get("layer") in searched,
         **{f"title_{lang}": (item.get("title") or {}).get(lang, "") for lang in LANGUAGES}}
        for item in document.get("layers") or []])
    return values


def _nth(values: list[str], i: int) -> str:
    return values[i].strip() if i < len(values) else ""


def _form_layers(form: Form) -> list[dict[str, Any]]:
    """The layer rows that name a layer, in order (blank rows dropped). A row's label is
    ``layer:field`` where the form offered every layer's fields."""
    rows = []
    count = len(form.getlist("layer"))
    styles, labels = form.getlist("style"), form.getlist("label")
    plans, searched = set(form.getlist("plan")), set(form.getlist("search"))
    for i in range(count):
        layer = form.getlist("layer")[i].strip()
        label = _nth(labels, i)
        if ":" in label:
            owner, _, label = label.partition(":")
            label = label if owner == layer else f"{owner}:{label}"
        rows.append({"layer": layer, "style": _nth(styles, i), "label": label,
                     "plan": str(i) in plans, "search": str(i) in searched,
                     "attributes": [a.strip() for a in form.getlist(f"attributes-{i}")
                                    if a.strip()],
                     **{f"title_{lang}": _nth(form.getlist(f"layer_title_{lang}"), i)
                        for lang in LANGUAGES}})
    return [row for row in rows if row["layer"]]


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ".").replace("−", "-"))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _time(text: str, zone: str, name: str, errors: dict[str, str], lang: str) -> str | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = staff_t("compose.bad_time", lang)
        return None
    return moment.replace(tzinfo=ZoneInfo(zone)).isoformat()


def _extent(values: dict[str, Any], bboxes: Sequence[BBox], errors: dict[str, str],
            lang: str) -> list[float] | None:
    given = [values[k] for k in EXTENT]
    if not any(given):
        if not bboxes:
            if not any(name.startswith("layer-") for name in errors):  # fix the layer first
                errors["west"] = staff_t("compose.no_extent", lang)
            return None
        return [min(b[0] for b in bboxes), min(b[1] for b in bboxes),
                max(b[2] for b in bboxes), max(b[3] for b in bboxes)]
    numbers = [_number(v) for v in given]
    for name, number in zip(EXTENT, numbers, strict=True):
        if number is None:
            errors[name] = staff_t(f"compose.bad_edge.{name}", lang, example=EXAMPLES[name])
    if any(n is None for n in numbers):
        return None
    return [float(n) for n in numbers if n is not None]


def _check_row(i: int, row: dict[str, Any], fields: Sequence[str] | None,
               errors: dict[str, str], lang: str) -> None:
    """A layer row's label and attributes are fields of its layer; a plan layer has a label."""
    if fields is None:
        return
    listed = ", ".join(fields) or staff_t("compose.no_fields", lang)
    layer = row["layer"]
    if row["label"] and row["label"] not in fields:
        errors[f"label-{i}"] = staff_t("compose.no_attribute", lang, layer=layer,
                                       attribute=row["label"], fields=listed)
    elif row["plan"] and not row["label"]:
        errors[f"label-{i}"] = staff_t("compose.plan_label", lang, layer=layer)
    elif row["search"] and not row["label"]:
        errors[f"label-{i}"] = staff_t("compose.search_label", lang, layer=layer)
    wrong = [a for a in row["attributes"] if a not in fields]
    if wrong:
        errors[f"attributes-{i}"] = staff_t("compose.no_attributes", lang, layer=layer,
                                            attributes=", ".join(wrong), fields=listed)


SWEDISH_SUFFIXES = ("_sv", "_se", "_swe", "_ruotsi", ":sv")


def _search_names(label: str, fields: Sequence[str]) -> list[str]:
    """The label and its Swedish twin where the layer has one (``nimi`` and ``nimi_sv``)."""
    names = [label]
    names += [f for f in fields if f != label and f.startswith(label)
              and f[len(label):] in SWEDISH_SUFFIXES]
    return names


def _drawing(values: dict[str, Any], errors: dict[str, str], lang: str) -> dict[str, Any]:
    """The drawing limits from the form: a point limit, a minimum zoom, one or several shapes."""
    drawing: dict[str, Any] = {"several": values["several"]}
    text = values["max_points"]
    if text.isdigit() and 3 <= int(text) <= MAX_POINTS_CEILING:
        drawing["max_points"] = int(text)
    else:
        errors["max_points"] = staff_t("compose.bad_points", lang, ceiling=MAX_POINTS_CEILING)
    zoom = values["min_zoom"]
    if zoom:
        if zoom.isdigit() and int(zoom) <= 24:
            drawing["min_zoom"] = int(zoom)
        else:
            errors["min_zoom"] = staff_t("compose.bad_zoom", lang)
    return drawing


def form_to_map(form: Form, *, map_id: str | None, previous: Mapping[str, Any] | None,
                layer_bboxes: Mapping[str, BBox],
                layer_fields: Mapping[str, Sequence[str]] | None = None,
                lang: str = FALLBACK) -> Composition:
    """Read the posted form; the document is set when the form itself has no errors.

    ``layer_fields`` (each layer's attributes) lets the form refuse a label, panel attribute
    or search on an attribute the layer lacks, and a plan layer without a label. Errors are
    in ``lang``.
    """
    layer_fields = layer_fields or {}
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
    values["max_points"] = form.get("max_points", "").strip() or str(DEFAULT_MAX_POINTS)
    values["min_zoom"] = form.get("min_zoom", "").strip()
    values["several"] = form.get("several") == "yes"
    values["photos"] = form.get("photos", "").strip() or str(DEFAULT_PHOTOS)
    rows = _form_layers(form)
    values["layers"] = padded_rows(rows)
    errors: dict[str, str] = {}
    if not MAP_ID.match(values["id"]):
        errors["id"] = staff_t("compose.bad_id", lang)
    titles = {lang: values[f"title_{lang}"] for lang in LANGUAGES if values[f"title_{lang}"]}
    if not titles:
        errors["title_fi"] = staff_t("compose.no_title", lang)
    if not values["languages"]:
        errors["languages"] = staff_t("compose.no_language", lang)
    if values["tz"] not in TIME_ZONES:
        values["tz"] = TIME_ZONES[0]
    chosen = rows
    for i, row in enumerate(rows):
        if row["layer"] not in layer_bboxes:
            errors[f"layer-{i}"] = staff_t("compose.no_layer", lang, layer=row["layer"])
        if not row["style"]:
            errors[f"style-{i}"] = staff_t("compose.no_style", lang, layer=row["layer"])
        _check_row(i, row, layer_fields.get(row["layer"]), errors, lang)
    extent = _extent(values, [layer_bboxes[r["layer"]] for r in chosen
                              if r["layer"] in layer_bboxes], errors, lang)
    opens = _time(values["opens"], values["tz"], "opens", errors, lang)
    closes = _time(values["closes"], values["tz"], "closes", errors, lang)
    if values["consult"] and not values["kinds"]:
        errors["kinds"] = staff_t("compose.no_kinds", lang)
    drawing = _drawing(values, errors, lang)
    photos = values["photos"]
    if not (photos.isdigit() and int(photos) <= MAX_PHOTOS):
        errors["photos"] = staff_t("compose.bad_photos", lang, most=MAX_PHOTOS)
    if not values["base"]:
        errors["base"] = staff_t("compose.no_base", lang)
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
        "layers": [_layer_document(r, layers_before.get(r["layer"], {})) for r in chosen],
        "origins": [line.strip() for line in values["origins"].splitlines() if line.strip()]})
    kept = [source for source in (previous or {}).get("search", [])
            if isinstance(source, Mapping) and source.get("layer") not in
            {r["layer"] for r in chosen}]
    document["search"] = kept + [
        {"layer": r["layer"], "kind": "place",
         "names": _search_names(r["label"], layer_fields.get(r["layer"], ()))}
        for r in chosen if r["search"] and r["label"]]
    if not document["search"]:
        del document["search"]
    descriptions = {lang: values[f"description_{lang}"] for lang in LANGUAGES
                    if values[f"description_{lang}"]}
    document.pop("description", None)
    if descriptions:
        document["description"] = descriptions
    document.pop("consultation", None)
    if values["consult"]:
        document["consultation"] = {"opens": opens, "closes": closes, "geometry": values["kinds"],
                                    "show_comments": values["show_comments"],
                                    "time_zone": values["tz"], "drawing": drawing,
                                    "photos": int(values["photos"])}
    composition.document = document
    return composition


def _layer_document(row: dict[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """A layer entry of the map document: what the row says, with attribute titles kept."""
    entry: dict[str, Any] = {**before, "layer": row["layer"], "style": row["style"],
                             "plan": row["plan"]}
    entry.pop("label", None)
    if row["label"]:
        entry["label"] = row["label"]
    titles = {lang: row[f"title_{lang}"] for lang in LANGUAGES if row.get(f"title_{lang}")}
    entry.pop("title", None)
    if titles:
        entry["title"] = titles
    named = {a["field"]: a for a in before.get("attributes") or []
             if isinstance(a, Mapping) and "field" in a}
    entry.pop("attributes", None)
    if row["attributes"]:
        entry["attributes"] = [named.get(a, a) for a in row["attributes"]]
    return entry


def field_for(problem_field: str) -> str:
    """The form field a publishing problem names (``layers[1].style`` → ``style-1``)."""
    match = LAYER_FIELD.match(problem_field)
    if match:
        row, member = match.group(1), match.group(2)
        if member in ("style", "label", "attributes"):
            return f"{member}-{row}"
        return f"layer-{row}"
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
    if part.startswith("drawing.max_points"):
        return "max_points"
    if part.startswith("drawing.min_zoom"):
        return "min_zoom"
    if part.startswith("photos"):
        return "photos"
    return "consult"


def problem_text(detail: str) -> str:
    """A publishing problem without the field path it starts with (the page links the field)."""
    head, colon, rest = detail.partition(": ")
    if colon and re.fullmatch(r"[\w.\[\]]+", head):
        detail = rest
    return sentence(detail)

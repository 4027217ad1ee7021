"""The style Swedish plan areas (NGP detaljplan) are drawn with: one class per use letter of
Boverket's planbestämmelsekatalog (the shipped excerpt), filled with the colour the catalogue
names for it (``farg``), outlined in black and lettered, so colour is never the only cue.

The catalogue names colours (Gul, Orange, Blågrå …) without RGB values; ``COLOURS`` gives each
name the RGB webmap draws it with, chosen to read as that name over a light base map.

``python -m webmap.plans.boverket_style > styles/detaljplan-omraden.json`` regenerates the style.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .codes import boverket
from .palette import CLASS_ID_RE, FILL_OPACITY, OUTLINE, _symbol_colour

STYLE_ID = "detaljplan-omraden"
PROPERTY = "marking"
COLOURS = {
    "Gul": "#ffe066", "Orange": "#f4a53b", "Blågrå": "#9aa9c4", "Ljusgrön": "#b5dc8e",
    "Grön": "#6fbf73", "Brun": "#b0845a", "Grå": "#bdbdbd", "Blå": "#8ec5e8",
    "Ljusblå": "#c6e3f5", "Lila": "#b69ad1", "Röd": "#e06666", "Rosa": "#f2b8c6",
    "Beige": "#e8d8b0",
}
"""Boverket's colour names as drawn."""
CATEGORY_NAMES = {
    "bostäder": {"fi": "Asuminen", "en": "Housing"},
    "industri": {"fi": "Teollisuus", "en": "Industry"},
    "tekniska anläggningar": {"fi": "Tekniset laitokset", "en": "Technical facilities"},
    "besöksanläggningar": {"fi": "Vierailukohteet", "en": "Visitor facilities"},
    "skydd": {"fi": "Suojavyöhyke", "en": "Protection"},
}


def letter(beteckning: str | None) -> str:
    """The letter a catalogue ``beteckning`` draws: ``R#`` -> ``R`` (``#`` is the index)."""
    return (beteckning or "").strip("#- ")


def style_from_catalogue() -> dict[str, Any]:
    """The style document for NGP plan areas, from the shipped catalogue excerpt."""
    classes: list[dict[str, Any]] = []
    seen: set[str] = set()
    provisions = sorted(boverket().values(), key=lambda p: letter(p.get("beteckning")))
    for provision in provisions:
        code = letter(provision.get("beteckning"))
        if (provision.get("bestammelsetyp") != "Användningsbestämmelse" or not code
                or code in seen):
            continue
        seen.add(code)
        fill = COLOURS.get(provision.get("farg") or "")
        category = (provision.get("kategori") or "").strip()
        names = CATEGORY_NAMES.get(category.lower(), {})
        entry: dict[str, Any] = {
            "id": CLASS_ID_RE.sub("-", code.lower()).strip("-"), "values": [code],
            "stroke": OUTLINE, "stroke_width": 2, "symbol": code,
            "symbol_color": _symbol_colour(fill),
            "legend": {"sv": f"{category or 'Planbeteckning'} ({code})",
                       "fi": f"{names.get('fi', 'Kaavamerkintä')} ({code})",
                       "en": f"{names.get('en', 'Plan marking')} ({code})"}}
        if fill:
            entry.update({"fill": fill, "fill_opacity": FILL_OPACITY})
        classes.append(entry)
    classes.append({"id": "ovrig", "values": None, "fill": "#ffffff", "fill_opacity": 0.3,
                    "stroke": OUTLINE, "stroke_width": 2, "dash": [6, 4],
                    "legend": {"sv": "Egenskapsbestämmelse eller annan bestämmelse",
                               "fi": "Muu kaavamääräys", "en": "Other plan regulation"}})
    return {"id": STYLE_ID, "geometry": "polygon",
            "title": {"sv": "Detaljplanens användning (Boverkets planbestämmelsekatalog)",
                      "fi": "Asemakaavan käyttötarkoitukset (Boverketin määräysluettelo)",
                      "en": "Detailed-plan uses (Boverket's catalogue of provisions)"},
            "property": PROPERTY, "classes": classes}


def main(argv: list[str]) -> int:
    """Print the style."""
    if argv:
        sys.stderr.write("usage: python -m webmap.plans.boverket_style\n")
        return 2
    sys.stdout.write(json.dumps(style_from_catalogue(), ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

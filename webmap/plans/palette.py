"""The plan-area style from Kuntaliitto's plan-marking palette (the Ministry of Environment's
colours for asemakaava markings): one class per letter code, drawn with the palette's fill,
a black outline (the palette's outline; traffic areas, red-and-black there, keep the black) and
the letter code itself, so colour is never the only cue.

``python -m webmap.plans.palette kaavamerkinnat_derived.csv > styles/kaava-alueet.json``
regenerates ``styles/kaava-alueet.json`` from the CSV in
``fi_kuntaliitto_kaavamerkinnat_styles`` (CC BY 4.0, Suomen Kuntaliitto).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..styles.colour import HEX, blend, contrast_ratio

STYLE_ID = "kaava-alueet"
PROPERTY = "marking"
"""The feature attribute the classes match: the letter code's capitals (``layers.marking``)."""
AREA_FILE = "asemakaavan_kuvaustekniikka/SLD/kaavayksikot.sld"
FILL_OPACITY = 0.6
OUTLINE = "#000000"
CLASS_ID_RE = re.compile(r"[^a-z0-9_-]+")


def _colour(text: str) -> str | None:
    """The palette's colour, with its known typo (``##b3d7f1``) mended; None if unusable."""
    value = "#" + text.strip().lstrip("#")
    return value.lower() if HEX.match(value) else None


def _symbol_colour(fill: str | None) -> str:
    """Black or white lettering, whichever reads better on the fill over a white base."""
    ground = blend(fill, "#ffffff", FILL_OPACITY) if fill else "#ffffff"
    return max(("#000000", "#ffffff"), key=lambda c: contrast_ratio(c, ground))


def style_from_palette(path: Path) -> dict[str, Any]:
    """The style document for plan areas, from the palette CSV."""
    classes: list[dict[str, Any]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            label = row["label"].strip()
            if row["sld_file"] != AREA_FILE or not label or label.startswith("/"):
                continue
            if label in seen:
                continue
            seen.add(label)
            fill = _colour(row["fill"]) if row["fill"] else None
            name = row["name_fi"].strip() or label
            entry: dict[str, Any] = {
                "id": CLASS_ID_RE.sub("-", label.lower()).strip("-"),
                "values": [label], "stroke": OUTLINE, "stroke_width": 2,
                "symbol": label, "symbol_color": _symbol_colour(fill),
                "legend": {"fi": f"{name} ({label})", "sv": f"Planbeteckning {label}",
                           "en": f"Plan marking {label}"}}
            if fill:
                entry.update({"fill": fill, "fill_opacity": FILL_OPACITY})
            classes.append(entry)
    classes.append({"id": "muu", "values": None, "fill": "#ffffff", "fill_opacity": 0.3,
                    "stroke": OUTLINE, "stroke_width": 2, "dash": [6, 4],
                    "legend": {"fi": "Muu kaavamääräys", "sv": "Annan planbestämmelse",
                               "en": "Other plan regulation"}})
    return {"id": STYLE_ID, "geometry": "polygon",
            "title": {"fi": "Asemakaavan kaavamerkinnät (Kuntaliitto, CC BY 4.0)",
                      "sv": "Detaljplanens planbeteckningar (Kuntaliitto, CC BY 4.0)",
                      "en": "Detailed-plan markings (Kuntaliitto, CC BY 4.0)"},
            "property": PROPERTY, "classes": classes}


def main(argv: list[str]) -> int:
    """Print the style for the CSV named on the command line."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m webmap.plans.palette kaavamerkinnat_derived.csv\n")
        return 2
    sys.stdout.write(json.dumps(style_from_palette(Path(argv[0])), ensure_ascii=False,
                                indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

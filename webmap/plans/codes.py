"""The code lists webmap ships: Ryhti's (by URI) and an excerpt of Boverket's catalogue (by id).

Loaded once; a code they do not know keeps its URI and an empty label, and the reader warns.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .model import Code

FOLDER = Path(__file__).with_name("codelists")
RYHTI_PREFIX = "http://uri.suomi.fi/codelist/rytj/"
NGP_STATUS: dict[str, dict[str, str]] = {
    "planeras": {"fi": "Suunnitteilla", "en": "Being planned"},
    "samråd": {"fi": "Kuuleminen", "en": "Consultation"},
    "granskning": {"fi": "Nähtävillä", "en": "Review"},
    "antagen": {"fi": "Hyväksytty", "en": "Adopted"},
    "laga kraft": {"fi": "Lainvoimainen", "en": "In force"},
    "upphävd": {"fi": "Kumottu", "en": "Repealed"},
}
"""The detaljplan status values (NGP ``status``), labelled in Finnish and English."""


@cache
def _ryhti() -> dict[str, dict[str, dict[str, str]]]:
    data: dict[str, Any] = json.loads((FOLDER / "ryhti.json").read_text(encoding="utf-8"))
    lists: dict[str, dict[str, dict[str, str]]] = data["lists"]
    return lists


@cache
def boverket() -> dict[str, dict[str, str]]:
    """Catalogue id -> the provision's fields kept (code, beteckning, formulering, colour…)."""
    data: dict[str, Any] = json.loads((FOLDER / "boverket.json").read_text(encoding="utf-8"))
    provisions: dict[str, dict[str, str]] = data["provisions"]
    return provisions


def ryhti_code(uri: str) -> Code:
    """A Ryhti code from its URI, ``…/rytj/<list>/code/<code>``, with the shipped label."""
    text = uri.strip()
    code = text.rsplit("/code/", 1)[1] if "/code/" in text else text.rsplit("/", 1)[-1]
    if not text.startswith(RYHTI_PREFIX) or "/code/" not in text:
        return Code(uri=text, code=code, known=False)
    name = text[len(RYHTI_PREFIX):].split("/", 1)[0]
    label = _ryhti().get(name, {}).get(code)
    return Code(uri=text, code=code, label=dict(label or {}), known=label is not None)


def boverket_code(reference: str) -> Code:
    """A Boverket catalogue reference with the provision's formulation and code where known."""
    found = boverket().get(reference.strip())
    if found is None:
        return Code(uri=reference.strip(), code=reference.strip(), known=False)
    label = {"sv": found["bestammelseformulering"]} if found.get("bestammelseformulering") else {}
    return Code(uri=reference.strip(), code=found.get("bestammelsekod", reference), label=label)


def ngp_status(value: str) -> Code:
    """A detaljplan status (``laga kraft``…) as a code labelled in sv, fi and en."""
    text = value.strip()
    known = NGP_STATUS.get(text.lower())
    label = {"sv": text, **(known or {})}
    return Code(uri=f"ngp:status:{text}", code=text, label=label, known=known is not None)

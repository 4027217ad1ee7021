"""Regulations as a reader hears them: "Sallittu kerrosala: 2 400 k-m²" in fi, sv or en."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .model import Regulation, RegulationGroup, Value, first_text

LANGS = ("fi", "sv", "en")

UNITS = {"m2": "m²", "k-m2": "k-m²", "k-m2/m2": "k-m²/m²", "kvadratmeter": "m²",
         "meter": "m", "antal": "", "procent": "%"}
QUALIFIERS: Mapping[str, Mapping[str, str]] = {
    "max": {"fi": "enintään", "sv": "högst", "en": "at most"},
    "min": {"fi": "vähintään", "sv": "minst", "en": "at least"},
    "exakt": {"fi": "tasan", "sv": "exakt", "en": "exactly"},
}


def number_text(number: float, lang: str) -> str:
    """A number as written in ``lang``: 2 400,5 in fi/sv, 2,400.5 in en."""
    whole = number.is_integer()
    text = f"{number:,.0f}" if whole else f"{number:,.2f}".rstrip("0").rstrip(".")
    if lang in ("fi", "sv"):
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text


def value_text(value: Value, lang: str) -> str:
    """One value: qualifier, number and unit, or its text, code label or period."""
    parts = []
    if value.qualifier and value.qualifier.lower() in QUALIFIERS:
        parts.append(QUALIFIERS[value.qualifier.lower()][lang if lang in ("fi", "sv") else "en"])
    if value.number is not None:
        unit = UNITS.get(value.unit or "", value.unit or "")
        parts.append(number_text(value.number, lang) + (f"\u00a0{unit}" if unit else ""))
    elif value.text:
        parts.append(first_text(value.text, lang))
    elif value.code is not None:
        parts.append(first_text(value.code.label, lang) or value.code.code)
    elif value.begin or value.end:
        parts.append(f"{value.begin or ''}–{value.end or ''}")
    return " ".join(p for p in parts if p)


def regulation_text(regulation: Regulation, lang: str) -> str:
    """The verbal text when the regulation has one, else ``label: values``."""
    verbal = first_text(regulation.verbal, lang)
    if verbal:
        return verbal
    label = first_text(regulation.kind.label, lang) or regulation.kind.code
    values = [text for text in (value_text(v, lang) for v in regulation.values) if text]
    return f"{label}: {', '.join(values)}" if values else label


def group_text(group: RegulationGroup, lang: str) -> str:
    """``AK-1 — title: regulation; regulation``."""
    title = first_text(group.title, lang)
    head = " — ".join(p for p in (group.letter_code, title) if p)
    body = "; ".join(regulation_text(r, lang) for r in group.regulations
                     if regulation_text(r, lang) != title)
    return f"{head}: {body}" if head and body else head or body


def groups_text(groups: Iterable[RegulationGroup], lang: str) -> str:
    """Every group of an object, one sentence each."""
    return ". ".join(t for t in (group_text(g, lang) for g in groups) if t)


def text_language(text: Mapping[str, str], lang: str) -> str:
    """The language ``first_text(text, lang)`` is actually in (``lang`` when there is none)."""
    for candidate in (lang, "fi", "sv", "en"):
        if text.get(candidate):
            return candidate
    return next((k for k, v in text.items() if v), lang)


def with_texts(group: RegulationGroup) -> dict[str, Any]:
    """The group as JSON with readable text per language, and the language each text is in
    (a Swedish-only plan read on a Finnish page keeps ``lang="sv"`` on its text)."""
    data = group.as_dict()
    for regulation, raw in zip(group.regulations, data["regulations"], strict=True):
        source = regulation.verbal or regulation.kind.label
        raw["text"] = {lang: regulation_text(regulation, lang) for lang in LANGS}
        raw["text_lang"] = {lang: text_language(source, lang) for lang in LANGS}
    data["text"] = {lang: group_text(group, lang) for lang in LANGS}
    data["title_lang"] = {lang: text_language(group.title, lang) for lang in LANGS}
    return data

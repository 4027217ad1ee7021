"""Translations in Finnish, Swedish and English: the widget's strings (``fi.json`` …) and the
staff pages' strings (``staff_fi.json`` …), each looked up by key with ``{name}`` placeholders."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("fi", "sv", "en")
FALLBACK = "en"
_DIR = Path(__file__).parent


def _read(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((_DIR / name).read_text(encoding="utf-8"))
    return data


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All strings of one language, read once."""
    if lang not in LANGUAGES:
        raise KeyError(f"no translations for {lang!r}")
    return _read(f"{lang}.json")


def t(key: str, lang: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``{name}`` placeholders filled."""
    template = catalogue(lang)[key]
    return template.format(**values) if values else template


@cache
def staff_catalogue(lang: str) -> dict[str, str]:
    """All strings of the staff pages in one language, read once."""
    if lang not in LANGUAGES:
        raise KeyError(f"no translations for {lang!r}")
    return _read(f"staff_{lang}.json")


def staff_t(key: str, lang: str, /, **values: object) -> str:
    """The staff string ``key`` in ``lang`` (English where ``lang`` lacks it), filled in."""
    found = staff_catalogue(lang).get(key) if lang in LANGUAGES else None
    template = found if found is not None else staff_catalogue(FALLBACK)[key]
    return template.format(**values) if values else template

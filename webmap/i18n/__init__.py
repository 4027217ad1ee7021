"""Translations: every visible string of the widget in Finnish, Swedish and English."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("fi", "sv", "en")
_DIR = Path(__file__).parent


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All strings of one language, read once."""
    if lang not in LANGUAGES:
        raise KeyError(f"no translations for {lang!r}")
    data: dict[str, str] = json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def t(key: str, lang: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``{name}`` placeholders filled."""
    template = catalogue(lang)[key]
    return template.format(**values) if values else template

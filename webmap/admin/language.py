"""The staff pages' language: ``?lang=fi|sv|en`` (kept in the staff session), else the one
chosen before, else the browser's Accept-Language, else English."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from flask import g, has_request_context, request, session
from markupsafe import Markup, escape

from ..i18n import FALLBACK, LANGUAGES, staff_catalogue, staff_t

SESSION_KEY = "lang"
NATIVE_NAMES = {"fi": "suomi", "sv": "svenska", "en": "English"}
"""Each language in its own words, as the language switcher names it."""


def choose_language() -> None:
    """Set ``g.staff_lang`` for this request; a ``lang`` asked for is kept for the next ones."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        if session.get(SESSION_KEY) != asked:
            session[SESSION_KEY] = asked
        g.staff_lang = asked
        return
    kept = session.get(SESSION_KEY)
    if kept in LANGUAGES:
        g.staff_lang = kept
        return
    g.staff_lang = browser_language(request.accept_languages)


def browser_language(accepted: Iterable[tuple[str, float]]) -> str:
    """The first of the browser's languages (best first) that the staff pages speak, by its
    primary tag: ``sv-SE, en;q=0.5`` is Swedish (werkzeug's ``best_match`` would say English,
    matching ``sv-SE`` to ``sv`` only when nothing else matches)."""
    for tag, quality in accepted:
        primary = tag.split("-", 1)[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return FALLBACK


def staff_language() -> str:
    """The language of the page being made (English outside a request that chose one)."""
    lang = g.get("staff_lang") if has_request_context() else None
    return lang if lang in LANGUAGES else FALLBACK


def kept_language() -> str | None:
    """The language chosen in this session, to carry over when the session starts anew."""
    lang = session.get(SESSION_KEY)
    return lang if lang in LANGUAGES else None


def tr(key: str, /, **values: object) -> str:
    """A staff string in the page's language (markup when a value is markup: the rest of the
    text is escaped then)."""
    if any(isinstance(value, Markup) for value in values.values()):
        return escape(staff_t(key, staff_language())).format(**values)
    return staff_t(key, staff_language(), **values)


def localised(texts: Mapping[str, str], default: str = "") -> Markup:
    """A title given per language, in the page's language where it has one, else in English or
    the first given; text in another language is marked with its own ``lang``."""
    here = staff_language()
    lang = next((code for code in (here, FALLBACK, *texts) if texts.get(code)), None)
    if lang is None:
        return escape(default)
    if lang == here:
        return escape(texts[lang])
    return Markup('<span lang="{}">{}</span>').format(lang, texts[lang])


def language_links() -> list[dict[str, str | bool]]:
    """The switcher's links: this page (its query kept) in each language."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    here = staff_language()
    links: list[dict[str, str | bool]] = []
    for lang in LANGUAGES:
        query = urlencode([*kept, ("lang", lang)])
        links.append({"lang": lang, "name": NATIVE_NAMES[lang], "current": lang == here,
                      "href": f"{request.script_root}{request.path}?{query}"})
    return links


def script_strings() -> dict[str, str]:
    """The strings the staff scripts show (``js.*``), in the page's language."""
    return {key: tr(key) for key in staff_catalogue(FALLBACK) if key.startswith("js.")}

"""Accent-free search keys: the one normalisation index and query share, so they always agree."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

FOLD = {ord(c): None for c in map(chr, range(0x10000)) if unicodedata.combining(c)} | {
    ord(k): v for k, v in {"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th",
                           "ł": "l", "ŋ": "n", "ŧ": "t", "ı": "i"}.items()}
"""Combining marks dropped; letters NFKD does not take apart (Danish/Norwegian, Icelandic,
Sámi, Polish, Turkish) spelled in ASCII."""
APOSTROPHES = re.compile(r"['’ʼ`]")
NOT_WORD = re.compile(r"[\W_]+")
NUMBER_LETTER = re.compile(r"(?<=\d) (?=[^\W\d_](?: |$))")
HSTORE_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=>\s*(?:"((?:[^"\\]|\\.)*)"|NULL)')
ESCAPED = re.compile(r"\\(.)")
HOUSE_NUMBER = re.compile(r"\s*(\d{1,9})(.*)")
KEY_CHARS = 200
NO_NUMBER = 10**9


def normalise(text: str) -> str:
    """Case- and accent-free text (NFKD, combining marks dropped, casefold: "ß" → "ss")."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return decomposed.translate(FOLD)


@lru_cache(maxsize=1 << 16)
def search_key(text: str) -> str:
    """The text as index and query compare it: normalised words joined by single spaces, a
    house-number letter joined to its number ("Tie 5 A" → "tie 5a")."""
    words = NOT_WORD.sub(" ", APOSTROPHES.sub("", normalise(text))).strip()
    return NUMBER_LETTER.sub("", words)[:KEY_CHARS]


def parse_hstore(text: object) -> dict[str, str]:
    """``"k"=>"v", …`` (GDAL's ``other_tags``) as a dict; escaped quotes kept, NULLs left out."""
    if not isinstance(text, str):
        return {}
    return {ESCAPED.sub(r"\1", m.group(1)): ESCAPED.sub(r"\1", m.group(2))
            for m in HSTORE_PAIR.finditer(text) if m.group(2) is not None}


def house_number_order(number: str) -> tuple[int, str]:
    """Sort house numbers as numbers: 5 < 5a < 5b < 51 (no number last)."""
    match = HOUSE_NUMBER.match(number)
    if not match:
        return NO_NUMBER, search_key(number)
    return int(match.group(1)), search_key(match.group(2))

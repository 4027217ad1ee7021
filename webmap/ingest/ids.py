"""Which attribute identifies a feature across versions of a layer (SPEC §7: feature ids stay
stable across a replacement where the layer has an id attribute).

Chosen at import: the one named (``--id-field NAME``; ``none`` for none), else the previous
version's when the new file still has it, else the first unique id-like column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ..problems import ImportFailed

NONE = "none"
"""``--id-field none``: features are numbered in file order."""
ID_NAMES = frozenset({"id", "gml_id", "uuid", "objectid", "object_id", "fid_1", "identifier",
                      "identifiers", "localid", "local_id", "inspireid", "tunnus", "tunniste",
                      "kohdetunnus", "kohde_id", "globalid", "global_id", "objekt_id",
                      "objektidentitet", "beteckning_id", "ogc_fid"})
ID_ENDINGS = ("_id", "_uuid", "tunnus", "tunniste", "identitet")


def is_id_like(name: str) -> bool:
    """Whether a (cleaned) column name reads as an identifier."""
    return name in ID_NAMES or name.endswith(ID_ENDINGS) or name.startswith("id_")


def key_text(value: object) -> str | None:
    """One id value as the text keys are compared by: ``12``, ``12.0`` and ``"12"`` agree."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.hex()
    text = str(value).strip()
    return text or None


def fids_by_key(rows: Iterable[tuple[Any, Any]]) -> dict[str, int]:
    """``(fid, id value)`` rows of a stored version as key text -> fid (rows without a key
    are left out)."""
    found: dict[str, int] = {}
    for fid, value in rows:
        key = key_text(value)
        if key is not None:
            found[key] = int(fid)
    return found


def keys_of(column: pd.Series) -> list[str | None]:
    """Every row's key text."""
    return [key_text(v) for v in column.tolist()]


def problem_with(column: pd.Series) -> str | None:
    """Why ``column`` cannot identify features (missing or repeated values), or None."""
    keys = keys_of(column)
    missing = sum(k is None for k in keys)
    if missing:
        return f"{missing} features have no value"
    seen: set[str | None] = set()
    for key in keys:
        if key in seen:
            return f"the value {key!r} is repeated"
        seen.add(key)
    return None


def _match(names: Sequence[str], originals: Sequence[str], wanted: str) -> str | None:
    lowered = wanted.strip().lower()
    for name, original in zip(names, originals, strict=True):
        if lowered in (name.lower(), original.lower()):
            return name
    return None


def choose_id_field(frame: pd.DataFrame, names: Sequence[str], originals: Sequence[str], *,
                    requested: str | None, previous: str | None, what: str
                    ) -> tuple[str, list[str]]:
    """The id column's (cleaned) name, '' for none, and notes for the import report.

    ``names`` are the frame's cleaned column names, ``originals`` the file's.
    """
    notes: list[str] = []
    if requested is not None and requested.strip():
        if requested.strip().lower() == NONE:
            return "", notes
        found = _match(names, originals, requested)
        if found is None:
            raise ImportFailed(f"{what} has no attribute {requested!r} to identify features "
                               f"by; its attributes are: {', '.join(names) or 'none'}")
        reason = problem_with(frame[found])
        if reason is not None:
            raise ImportFailed(f"the attribute {found!r} cannot identify features: {reason}; "
                               "choose another id attribute, or none")
        return found, notes
    if previous:
        found = _match(names, originals, previous)
        reason = None if found is None else problem_with(frame[found])
        if found is not None and reason is None:
            return found, notes
        why = "is missing" if found is None else f"cannot be used ({reason})"
        notes.append(f"the previous version's id attribute {previous!r} {why}: features that "
                     "were there before get new ids")
    for name in names:
        if is_id_like(name) and problem_with(frame[name]) is None:
            return name, notes
    return "", notes

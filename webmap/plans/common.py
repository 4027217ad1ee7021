"""What both plan readers share: geometry with its CRS, object kinds, warning texts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import shapely
import shapely.geometry

from ..ingest.sourcecrs import parse_code
from ..problems import ImportFailed
from .model import FAMILY_KIND, Code, ObjectKind, Text

LANGS = {"fin": "fi", "swe": "sv", "eng": "en", "sme": "se", "smn": "smn", "sms": "sms"}
"""ISO 639-2/3 language keys of Ryhti texts -> the codes webmap uses."""
SHOWN = 5
"""How many names a warning lists before it says "and n more"."""


def text_of(value: Any) -> Text:
    """A per-language text from ``{"fin": …, "swe": …}`` (or a plain string, taken as is)."""
    if isinstance(value, str):
        return {"und": value} if value.strip() else {}
    if not isinstance(value, Mapping):
        return {}
    return {LANGS.get(str(k), str(k)): str(v) for k, v in value.items()
            if isinstance(v, str) and v.strip()}


def crs_code(value: Any, where: str) -> str:
    """``EPSG:n`` from a Ryhti ``srid`` or an NGP ``koordinatsystemPlan``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ImportFailed(f"{where} has a geometry without 'srid' (the EPSG code of its "
                           "coordinates); add it, e.g. \"srid\": \"3067\"")
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ImportFailed(f"{where}: the CRS {value!r} is not an EPSG code")
    try:
        return parse_code(value)
    except ImportFailed as exc:
        raise ImportFailed(f"{where}: the CRS {value!r} is not an EPSG code PROJ knows") from exc


def shape_of(data: Any, where: str) -> Any:
    """A shapely geometry from a GeoJSON geometry object, or ImportFailed naming ``where``."""
    if not isinstance(data, Mapping) or "type" not in data:
        raise ImportFailed(f"{where} has no GeoJSON geometry (an object with 'type' and "
                           "'coordinates')")
    try:
        geometry = shapely.geometry.shape(data)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError,
            shapely.errors.ShapelyError) as exc:
        raise ImportFailed(f"{where} has a geometry that cannot be read "
                           f"({data.get('type')!s} with unusable coordinates)") from exc
    if geometry.geom_type not in FAMILY_KIND:
        raise ImportFailed(f"{where} has a {geometry.geom_type}, which a plan object cannot be "
                           "(points, lines or areas only)")
    return geometry


def kind_of(geometry: Any) -> ObjectKind:
    """``area``, ``line`` or ``point`` for a shapely geometry."""
    return FAMILY_KIND[geometry.geom_type]


def listing(names: Iterable[str]) -> str:
    """``a, b, c`` with at most ``SHOWN`` names and the rest counted."""
    items = list(names)
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def unknown_codes_warning(codes: Iterable[Code]) -> list[str]:
    """One warning naming the codes the shipped code lists do not know, if any."""
    unknown = sorted({c.uri for c in codes if not c.known})
    if not unknown:
        return []
    return [f"{len(unknown)} codes are not in webmap's code lists and are shown by their code: "
            f"{listing(unknown)}"]


def optional_text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    """A member that must be text when present (an id, a letter code)."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ImportFailed(f"{where}: '{key}' must be text, not {type(value).__name__}")
    return str(value)

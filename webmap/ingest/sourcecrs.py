"""The source CRS of an import: the override, the file's declaration, or a clear refusal."""

from __future__ import annotations

import re
from functools import lru_cache

from pyproj import CRS
from pyproj.exceptions import CRSError

from ..crs import code_from_uri, crs_of, identify
from ..problems import ImportFailed
from ..types import BBox

CODE_RE = re.compile(r"^\s*(?:epsg\s*:+\s*)?(\d{4,6})\s*$", re.IGNORECASE)
URN_RE = re.compile(r"^urn:ogc:def:crs:epsg:[\d.]*:(\d+)$", re.IGNORECASE)
MAPINFO_DATUM_LOSS = {"EPSG:32635": "EPSG:3067", "EPSG:32633": "EPSG:3006"}
"""MapInfo headers written from ETRS89 data often come back as WGS 84 / UTM: same numbers."""
ADD_CRS = "add --crs EPSG:n (the 'crs' field when uploading)"


def parse_code(text: str | int) -> str:
    """``EPSG:n`` from ``EPSG:n``, ``epsg:n``, a bare number, an EPSG URN or OGC URI."""
    value = str(text).strip()
    match = CODE_RE.match(value) or URN_RE.match(value)
    if match:
        code = f"EPSG:{int(match.group(1))}"
    elif value.upper() in {"CRS84", "OGC:CRS84"}:
        code = "EPSG:4326"
    else:
        try:
            code = code_from_uri(value)
        except ValueError as exc:
            raise ImportFailed(f"--crs {value!r} is not a CRS code; write it as EPSG:n, "
                               "e.g. EPSG:3067") from exc
        code = "EPSG:4326" if code == "CRS84" else code
    try:
        crs_of(code)
    except CRSError as exc:
        raise ImportFailed(f"{code} is not a coordinate reference system PROJ knows") from exc
    return code


def declared_code(crs_text: str | None, *, driver: str) -> tuple[str | None, list[str]]:
    """The EPSG code of what the file declares (None if nothing), with notes for the report."""
    if not crs_text:
        return None, []
    try:
        code = _identify_text(crs_text)
    except CRSError as exc:
        name = _crs_name(crs_text)
        raise ImportFailed(f"the file's coordinate reference system {name!r} matches no EPSG "
                           f"code; {ADD_CRS}") from exc
    if driver == "MapInfo File" and code in MAPINFO_DATUM_LOSS:
        fixed = MAPINFO_DATUM_LOSS[code]
        return fixed, [f"the MapInfo header says {code} (WGS 84 / UTM), which MapInfo writes "
                       f"for ETRS89 data; recorded as {fixed} (same coordinates) - give --crs "
                       "if that is wrong"]
    return code, []


def resolve(crs_text: str | None, override: str | None, *, driver: str, bounds: BBox,
            what: str) -> tuple[str, list[str]]:
    """The source CRS code and report notes; ImportFailed when there is none."""
    if override is not None:
        code = parse_code(override)
        try:
            declared, _ = declared_code(crs_text, driver=driver)
        except ImportFailed:
            return code, [f"the file's own CRS could not be identified; used {code} as asked"]
        if declared is not None and declared != code:
            return code, [f"the file declares {declared}; used {code} as asked"]
        return code, []
    declared, notes = declared_code(crs_text, driver=driver)
    if declared is None:
        hint = suggest(bounds)
        guess = f"; the coordinates look like {hint}" if hint else ""
        prj = " (its .prj is missing or empty)" if driver == "ESRI Shapefile" else ""
        raise ImportFailed(f"{what} has no coordinate reference system{prj}; {ADD_CRS}{guess}")
    return declared, notes


def _within(low: float, minimum: float, maximum: float, high: float) -> bool:
    return low <= minimum <= maximum <= high


def suggest(bounds: BBox) -> str | None:
    """A likely Nordic CRS for coordinates without one, e.g. ``EPSG:3877 (ETRS89 / GK23FIN)``."""
    minx, miny, maxx, maxy = bounds
    zone = int(minx // 1_000_000)
    code: int | None = None
    if _within(-180, minx, maxx, 180) and _within(-90, miny, maxy, 90):
        code = 4326
    elif _within(6_000_000, miny, maxy, 7_900_000):
        if 19 <= zone <= 31 and int(maxx // 1_000_000) == zone:
            code = 3873 + zone - 19
        elif _within(3_000_000, minx, maxx, 3_800_000):
            code = 2393
        elif _within(1_200_000, minx, maxx, 1_900_000):
            code = 3021
        elif _within(40_000, minx, maxx, 780_000) and miny >= 6_590_000:
            code = 3067
        elif _within(180_000, minx, maxx, 1_090_000):
            code = 3006
    elif _within(8_000_000, miny, maxy, 11_600_000) and _within(500_000, minx, maxx, 3_700_000):
        code = 3857
    if code is None:
        return None
    return f"EPSG:{code} ({crs_of(f'EPSG:{code}').name})"


@lru_cache(maxsize=64)
def _identify_text(crs_text: str) -> str:
    """``identify`` of a declared CRS, cached: matching an ESRI WKT by parameters takes ~0.1 s."""
    return identify(CRS.from_user_input(crs_text))


def _crs_name(crs_text: str) -> str:
    match = re.search(r'^\w+\["([^"]+)"', crs_text.strip())
    return match.group(1) if match else crs_text[:60]

"""Plain-language sentences for the staff pages: import reports, style issues, comment places."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from ..i18n import FALLBACK, staff_t
from ..ingest.read import NOT_A_FORMAT
from ..ingest.table import NO_COLUMNS
from ..styles import StyleIssue

SHAPES = {"Point": "point", "MultiPoint": "point", "LineString": "line",
          "MultiLineString": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}
RULES = ("base-contrast", "pattern-contrast", "symbol-contrast", "class-contrast",
         "colour-only", "missing-style", "missing-basemap")
"""Style rules with a heading of their own (``rule.<id>`` in the staff catalogue)."""


def count(number: int, singular: str, plural: str) -> str:
    """``1 polygon`` / ``3 polygons``, with thousands separated by a space."""
    return f"{number:,}".replace(",", " ") + " " + (singular if number == 1 else plural)


def counted(number: int, key: str, lang: str = FALLBACK, **values: object) -> str:
    """The staff string ``key.one`` or ``key.many`` for ``number`` (as ``{n}``, spaced)."""
    form = "one" if number == 1 else "many"
    return staff_t(f"{key}.{form}", lang, n=f"{number:,}".replace(",", " "), **values)


@cache
def crs_name(code: str) -> str:
    """``EPSG:3067 (ETRS89 / TM35FIN(E,N))``; the code alone when PROJ does not know it."""
    try:
        return f"{code} ({CRS.from_user_input(code).name})"
    except CRSError:
        return code


def degrees(bbox: list[float] | tuple[float, ...], lang: str = FALLBACK) -> str:
    """A lon/lat box as a reader says it: 22.674–22.697° E, 60.452–60.460° N."""
    west, south, east, north = bbox

    def lon(v: float) -> str:
        return f"{abs(v):.3f}° " + staff_t("compass.e" if v >= 0 else "compass.w", lang)

    def lat(v: float) -> str:
        return f"{abs(v):.3f}° " + staff_t("compass.n" if v >= 0 else "compass.s", lang)

    return staff_t("words.box", lang, west=lon(west), east=lon(east), south=lat(south),
                   north=lat(north))


def report_sentences(report: Mapping[str, Any], lang: str = FALLBACK) -> list[str]:
    """What an import did, one sentence each, from ``ImportReport.as_dict()``."""
    crs = crs_name(str(report["source_crs"]))
    if report.get("kind") == "raster":
        return [staff_t("import.raster", lang), staff_t("import.raster_crs", lang, crs=crs),
                staff_t("import.raster_covers", lang, box=degrees(report["bbox"], lang))]
    shape = SHAPES.get(str(report.get("geometry_type")), "feature")
    features = int(report.get("feature_count", 0))
    repaired = int(report.get("repaired", 0))
    dropped = int(report.get("dropped", 0))
    sentences = [counted(features, f"import.imported.{shape}", lang),
                 staff_t("import.crs", lang, crs=crs),
                 staff_t("import.covers", lang, box=degrees(report["bbox"], lang))]
    if repaired:
        problem = "self_intersecting" if shape == "polygon" else "invalid"
        sentences.append(counted(repaired, f"import.{problem}.{shape}", lang))
    else:
        sentences.append(staff_t("import.no_repair", lang))
    if dropped:
        sentences.append(counted(dropped, "import.dropped", lang))
    else:
        sentences.append(staff_t("import.none_dropped", lang))
    return sentences


COUNTED = re.compile(r"^\d+ (invalid geometries were repaired|features without a usable "
                     r"geometry were left out)$")
"""Report notes the sentences above already say."""


def other_warnings(report: Mapping[str, Any]) -> list[str]:
    """The report's warnings that the sentences do not already say."""
    return [w for w in report.get("warnings", []) if not COUNTED.match(str(w))]


def issue_heading(issue: StyleIssue, lang: str = FALLBACK) -> str:
    """A short heading for a failed style rule."""
    return staff_t(f"rule.{issue.rule}" if issue.rule in RULES else "rule.other", lang)


def issue_text(issue: StyleIssue) -> str:
    """The issue's message without the style id the page already shows."""
    prefix = f"{issue.style}: "
    text = issue.message[len(prefix):] if issue.message.startswith(prefix) else issue.message
    return text[:1].upper() + text[1:]


def comment_place(geometry: str | None, feature: Mapping[str, Any] | None,
                  lang: str = FALLBACK) -> str:
    """Where a comment points, in words: a plan feature, a point's coordinates, a line, an area."""
    parts = []
    if feature and feature.get("label"):
        parts.append(staff_t("place.labelled", lang, label=feature["label"],
                             layer=feature.get("collection")))
    elif feature:
        parts.append(staff_t("place.feature", lang, id=feature.get("id"),
                             layer=feature.get("collection")))
    if geometry:
        try:
            shape = json.loads(geometry)
        except ValueError:
            shape = {}
        kind = shape.get("type") if isinstance(shape, dict) else None
        coordinates = shape.get("coordinates") if isinstance(shape, dict) else None
        if kind == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
            lon, lat = float(coordinates[0]), float(coordinates[1])
            parts.append(staff_t("place.point", lang, lat=f"{lat:.5f}", lon=f"{lon:.5f}"))
        elif kind == "LineString" and isinstance(coordinates, list):
            parts.append(staff_t("place.line", lang, n=len(coordinates)))
        elif kind == "Polygon" and isinstance(coordinates, list) and coordinates:
            parts.append(staff_t("place.area", lang, n=max(len(coordinates[0]) - 1, 0)))
    return "; ".join(parts) or staff_t("place.none", lang)


def capitalised(text: str) -> str:
    """``text`` with a capital first letter, unless it starts with a name (``t.geojson``)."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, closing full stop."""
    text = capitalised(text.strip())
    return text if not text or text[-1] in ".!?" else text + "."


def local_time(iso: str, zone: str) -> str:
    """``2026-03-02 14:05 (Europe/Helsinki)``: a stored UTC time where the consultation is."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    except (ValueError, KeyError):
        return iso
    return f"{moment:%Y-%m-%d %H:%M} ({zone})"


STAFF_WORDS = (
    (" choose one with --layer NAME (the 'layer' field when uploading)", "words.choose_layer"),
    ("add --crs EPSG:n (the 'crs' field when uploading)", "words.give_crs"),
    ("add --crs EPSG:n", "words.give_crs"),
    ("give --crs", "words.give_the_crs"),
    ("--crs ", "words.the_crs"),
    ("give them with --x and --y (the x_column and y_column fields when uploading), or a WKT "
     "column with --wkt (wkt_column)", "words.give_xy"),
    ("give both --x and --y (the x_column and y_column fields when uploading), or neither",
     "words.both_xy"),
    ("--id-field", "words.id_field"),
    ("replace anyway (force)", "words.force"),
)
"""The command-line words of an import error, and the staff string for them on the upload
page (the form's field names in the page's language)."""


_CHOOSE_LAYER = re.escape(" choose one with --layer NAME (the 'layer' field when uploading)")
IMPORT_ERRORS = tuple((re.compile(pattern), key) for pattern, key in (
    (r"^(?P<what>.+) has (?P<n>\d+) layers: (?P<names>.+);" + _CHOOSE_LAYER + "$",
     "upload.error.layers"),
    (r"^the ZIP archive holds (?P<n>\d+) data sets: (?P<names>.+);" + _CHOOSE_LAYER + "$",
     "upload.error.data_sets"),
    (r"^(?P<what>.+) has no layer (?P<layer>'.*'); its layers are: (?P<names>.+)$",
     "upload.error.no_layer"),
    (r"^(?P<name>.+) is only one part of a Shapefile: its (?P<parts>\.\w+(?: and \.\w+)*) "
     r"(?:file is|files are) missing\. Put the \.shp, \.shx, \.dbf and \.prj \(and \.cpg\) "
     r"files in one ZIP archive and upload that$", "upload.error.shapefile"),
    (r"^(?P<what>.+) has no coordinate reference system(?P<prj> \(its \.prj is missing or "
     r"empty\))?; add --crs EPSG:n \(the 'crs' field when uploading\)"
     r"(?:; the coordinates look like (?P<hint>.+))?$", "upload.error.no_crs"),
    (r"^found no coordinate columns among (?P<names>.+); " + re.escape(NO_COLUMNS) + "$",
     "upload.error.no_columns"),
    (r"^no row of the table has usable coordinates; " + re.escape(NO_COLUMNS) + "$",
     "upload.error.no_coordinates"),
    (r"^(?P<what>.+) has no features with a geometry(?: \((?P<n>\d+) empty or missing were "
     r"dropped\))?$", "upload.error.no_geometry"),
    (r"^the new file lacks attributes that maps use: (?P<names>.+)\. Rename them in the file, "
     r"change the maps first, or replace anyway \(force\)$", "upload.error.lacks"),
    (r"^(?P<name>.+) is empty; " + re.escape(NOT_A_FORMAT) + "$", "upload.error.empty"),
    (r"^(?P<name>.+) is binary data of an unknown kind; " + re.escape(NOT_A_FORMAT) + "$",
     "upload.error.binary"),
    (r"^(?P<name>.+) is " + re.escape(NOT_A_FORMAT) + "$", "upload.error.unknown"),
))
"""The import errors met most on the upload page, each said whole in the page's language."""
WHAT = re.compile(r"^the [\w ]+? (?=\S+\.\w+$)")
"""The kind of file before its name in an import error (``the GeoPackage ``)."""


def import_error(detail: str, lang: str = FALLBACK) -> str:
    """An import error as a sentence for the upload page: one of the common ones in the page's
    language, else the import's own words with form fields for CLI flags."""
    for pattern, key in IMPORT_ERRORS:
        found = pattern.match(detail)
        if found is None:
            continue
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        if "what" in values and lang != FALLBACK:  # "the GeoPackage k.gpkg": the name says it
            values["what"] = WHAT.sub("", values["what"])
        if key == "upload.error.shapefile":
            parts = re.findall(r"\.\w+", values["parts"])
            return sentence(counted(len(parts), key, lang, name=values["name"],
                                    parts=staff_t("words.and", lang).join(parts)))
        if key == "upload.error.no_crs":
            text = staff_t(key + (".prj" if "prj" in values else ""), lang, what=values["what"])
            return sentence(text) + (staff_t("upload.error.looks_like", lang,
                                             hint=values["hint"]) if "hint" in values else "")
        if key == "upload.error.no_geometry" and "n" in values:
            key += ".dropped"
        return sentence(staff_t(key, lang, **values))
    return sentence(staff_words(detail, lang))


def staff_words(detail: str, lang: str = FALLBACK) -> str:
    """An import error as staff on the upload page read it: form fields, not CLI flags."""
    for cli, key in STAFF_WORDS:
        if cli in detail:
            detail = detail.replace(cli, staff_t(key, lang))
    return detail

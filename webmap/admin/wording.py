"""Plain-language sentences for the staff pages: import reports, style issues, comment places."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from ..styles import StyleIssue

SHAPES = {"Point": ("point", "points"), "MultiPoint": ("point", "points"),
          "LineString": ("line", "lines"), "MultiLineString": ("line", "lines"),
          "Polygon": ("polygon", "polygons"), "MultiPolygon": ("polygon", "polygons")}
RULE_HEADINGS = {
    "base-contrast": "Too little contrast against the base map",
    "pattern-contrast": "The pattern is hard to see on its fill",
    "symbol-contrast": "The symbol text is too faint",
    "class-contrast": "Neighbouring classes are hard to tell apart",
    "colour-only": "Classes differ by colour alone",
    "missing-style": "The style is missing",
    "missing-basemap": "The base map is missing",
}


def count(number: int, singular: str, plural: str) -> str:
    """``1 polygon`` / ``3 polygons``, with thousands separated by a space."""
    return f"{number:,}".replace(",", " ") + " " + (singular if number == 1 else plural)


def _was(number: int) -> str:
    return "was" if number == 1 else "were"


@cache
def crs_name(code: str) -> str:
    """``EPSG:3067 (ETRS89 / TM35FIN(E,N))``; the code alone when PROJ does not know it."""
    try:
        return f"{code} ({CRS.from_user_input(code).name})"
    except CRSError:
        return code


def degrees(bbox: list[float] | tuple[float, ...]) -> str:
    """A lon/lat box as a reader says it: 22.674–22.697° E, 60.452–60.460° N."""
    west, south, east, north = bbox

    def lon(v: float) -> str:
        return f"{abs(v):.3f}° {'E' if v >= 0 else 'W'}"

    def lat(v: float) -> str:
        return f"{abs(v):.3f}° {'N' if v >= 0 else 'S'}"

    return f"{lon(west)} to {lon(east)}, {lat(south)} to {lat(north)}"


def report_sentences(report: Mapping[str, Any]) -> list[str]:
    """What an import did, one sentence each, from ``ImportReport.as_dict()``."""
    if report.get("kind") == "raster":
        return ["The raster was stored as a Cloud Optimized GeoTIFF with overviews.",
                f"Coordinate system detected: {crs_name(str(report['source_crs']))}.",
                f"It covers {degrees(report['bbox'])}."]
    one, many = SHAPES.get(str(report.get("geometry_type")), ("feature", "features"))
    features = int(report.get("feature_count", 0))
    repaired = int(report.get("repaired", 0))
    dropped = int(report.get("dropped", 0))
    sentences = [f"{count(features, one, many)} {_was(features)} imported.",
                 f"Coordinate system detected: {crs_name(str(report['source_crs']))}; "
                 "stored as longitude and latitude (CRS84).",
                 f"The layer covers {degrees(report['bbox'])}."]
    if repaired:
        problem = "self-intersecting" if one == "polygon" else "invalid"
        sentences.append(f"{count(repaired, one, many)} {_was(repaired)} {problem} and "
                         f"{_was(repaired)} repaired.")
    else:
        sentences.append("No geometry needed repair.")
    if dropped:
        sentences.append(f"{count(dropped, 'feature', 'features')} without a usable geometry "
                         f"{_was(dropped)} left out.")
    else:
        sentences.append("No feature was left out.")
    return sentences


COUNTED = re.compile(r"^\d+ (invalid geometries were repaired|features without a usable "
                     r"geometry were left out)$")
"""Report notes the sentences above already say."""


def other_warnings(report: Mapping[str, Any]) -> list[str]:
    """The report's warnings that the sentences do not already say."""
    return [w for w in report.get("warnings", []) if not COUNTED.match(str(w))]


def issue_heading(issue: StyleIssue) -> str:
    """A short heading for a failed style rule."""
    return RULE_HEADINGS.get(issue.rule, "Problem")


def issue_text(issue: StyleIssue) -> str:
    """The issue's message without the style id the page already shows."""
    prefix = f"{issue.style}: "
    text = issue.message[len(prefix):] if issue.message.startswith(prefix) else issue.message
    return text[:1].upper() + text[1:]


def comment_place(geometry: str | None, feature: Mapping[str, Any] | None) -> str:
    """Where a comment points, in words: a plan feature, a point's coordinates, a line, an area."""
    parts = []
    if feature and feature.get("label"):
        parts.append(f"“{feature['label']}” in {feature.get('collection')}")
    elif feature:
        parts.append(f"Feature {feature.get('id')} of {feature.get('collection')}")
    if geometry:
        try:
            shape = json.loads(geometry)
        except ValueError:
            shape = {}
        kind = shape.get("type") if isinstance(shape, dict) else None
        coordinates = shape.get("coordinates") if isinstance(shape, dict) else None
        if kind == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
            lon, lat = float(coordinates[0]), float(coordinates[1])
            parts.append(f"Point at {lat:.5f}° N, {lon:.5f}° E")
        elif kind == "LineString" and isinstance(coordinates, list):
            parts.append(f"A line of {len(coordinates)} points")
        elif kind == "Polygon" and isinstance(coordinates, list) and coordinates:
            parts.append(f"An area of {max(len(coordinates[0]) - 1, 0)} corners")
    return "; ".join(parts) or "No place"


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
    (" choose one with --layer NAME (the 'layer' field when uploading)",
     " choose one in “Layer in the file”"),
    ("add --crs EPSG:n (the 'crs' field when uploading)",
     "give it in “Coordinate system”, for example EPSG:3067"),
    ("add --crs EPSG:n", "give it in “Coordinate system”, for example EPSG:3067"),
    ("give --crs", "give the “Coordinate system”"),
    ("--crs ", "the coordinate system "),
    ("give them with --x and --y (the x_column and y_column fields when uploading), or a WKT "
     "column with --wkt (wkt_column)",
     "choose them in “X column” and “Y column”, or a WKT column in “WKT column”"),
    ("give both --x and --y (the x_column and y_column fields when uploading), or neither",
     "give both “X column” and “Y column”, or neither"),
    ("--id-field", "“Id attribute”"),
    ("replace anyway (force)", "tick “Replace even if maps break” to replace anyway"),
)
"""What the command-line words of an import error are on the upload page."""


def staff_words(detail: str) -> str:
    """An import error as staff on the upload page read it: form fields, not CLI flags."""
    for cli, form in STAFF_WORDS:
        detail = detail.replace(cli, form)
    return detail

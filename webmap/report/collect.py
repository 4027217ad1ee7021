"""What a response report says, gathered once: the plan, its period, counts, the published
comments with their responses, and the map images; the writers only lay it out.

Personal data never enters a ``Report``: names and e-mail addresses are not copied from the
comments, so no writer can print them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from .. import crs
from ..comments.service import Comment, CommentService
from ..mapimage.draw import Marker, View
from ..mapimage.service import MapImageService, fit_view
from ..maps.model import MapDefinition, text
from ..problems import InvalidParameter
from ..tiles.grids import GRID_EPSG
from .wording import REPORT_LANGUAGES, WORDING

OVERVIEW_PX = (1400, 1000)
COMMENT_MAP_PX = (800, 450)
OVERVIEW_MIN_SPAN_M = 500.0
COMMENT_MIN_SPAN_M = 250.0
KINDS = ("point", "line", "area", "feature", "none")


@dataclass(frozen=True)
class ReportPhoto:
    """A resident's photo as the report embeds it, with the description they wrote."""

    data: bytes
    media_type: str
    """``image/jpeg`` (webmap re-encodes every photo as JPEG) or ``image/png``."""
    size_px: tuple[int, int]
    alt: str


@dataclass(frozen=True)
class ReportComment:
    """One published comment as the report prints it (no name, no e-mail)."""

    number: int
    id: str
    date: str
    """The day it arrived, in the consultation's time zone, as the language writes dates."""
    text: str
    language: str
    kind: str
    place: str
    """Where it points, in words (the map image's alt text uses it)."""
    themes: tuple[str, ...]
    response: str | None
    changed_plan: bool
    image: bytes | None
    """A PNG of its place, numbered; None for a comment without a place."""
    image_px: tuple[int, int]
    alt: str
    """Alt text of its map image."""
    photos: tuple[ReportPhoto, ...] = ()
    """Its photos, after the text (the comment photo storage fills them)."""


@dataclass(frozen=True)
class Report:
    """Everything the report shows, in one language."""

    lang: str
    map_id: str
    title: str
    period: str
    made: str
    received: int
    published: int
    hidden: int
    pending: int
    by_theme: tuple[tuple[str, int], ...]
    by_kind: tuple[tuple[str, int], ...]
    overview: bytes | None
    overview_px: tuple[int, int]
    comments: tuple[ReportComment, ...]

    @property
    def words(self) -> dict[str, str]:
        """The report's wording in its language."""
        return WORDING[self.lang]

    @property
    def heading(self) -> str:
        """The document's title: what it is and which plan."""
        return f"{self.words['document']}: {self.title}"

    @property
    def overview_alt(self) -> str:
        """Alt text of the overview map."""
        return self.words["overview_alt"].format(title=self.title, count=len(self.comments))

    def filename(self, fmt: str) -> str:
        """``vastineraportti-MAP.pdf`` and the like (ASCII, safe in a header)."""
        return f"{self.words['file']}-{self.map_id}.{fmt}"

    @property
    def counts(self) -> tuple[tuple[str, int], ...]:
        """(label, number) rows of the summary table."""
        w = self.words
        return ((w["received"], self.received), (w["published"], self.published),
                (w["hidden"], self.hidden), (w["pending"], self.pending))


def check_language(lang: str | None) -> str:
    """A report language, or ``InvalidParameter`` naming ``lang``."""
    if lang not in REPORT_LANGUAGES:
        raise InvalidParameter("lang", f"lang is one of {', '.join(REPORT_LANGUAGES)}, "
                                       f"not {lang!r}")
    return lang


def format_date(moment: datetime, lang: str) -> str:
    """3.12.2026 in Finnish, 2026-12-03 in Swedish and English."""
    return f"{moment.day}.{moment.month}.{moment.year}" if lang == "fi" else \
        f"{moment:%Y-%m-%d}"


def _zone(definition: MapDefinition) -> ZoneInfo:
    if definition.consultation is not None:
        return ZoneInfo(definition.consultation.time_zone)
    return ZoneInfo("Europe/Stockholm" if definition.default_language == "sv"
                    else "Europe/Helsinki")


def _period(definition: MapDefinition, lang: str, zone: ZoneInfo) -> str:
    consultation = definition.consultation
    opens = consultation.opens if consultation else None
    closes = consultation.closes if consultation else None
    days = [format_date(m.astimezone(zone), lang) if m else "" for m in (opens, closes)]
    if not any(days):
        return WORDING[lang]["period_unset"]
    return f"{days[0]} – {days[1]}".strip()


def kind_of(comment: Comment) -> str:
    """``point``, ``line``, ``area``, ``feature`` (a plan feature chosen) or ``none``."""
    if comment.feature_collection is not None and comment.geometry is None:
        return "feature"
    if comment.place is None:
        return "none"
    kind = shapely.from_geojson(comment.place).geom_type
    if kind.endswith("Point"):
        return "point"
    if kind.endswith("LineString"):
        return "line"
    return "area"


def _place_words(comment: Comment, kind: str, lang: str) -> str:
    words = WORDING[lang]
    name = words[f"kind_{kind}"]
    if kind == "feature" and comment.feature_label:
        return f"{name} “{comment.feature_label}”"
    if kind == "point" and comment.geometry:
        point = shapely.from_geojson(comment.geometry)
        return words["point_at"].format(lat=point.y, lon=point.x) if point.geom_type == \
            "Point" else name
    return name


class ReportBuilder:
    """Collects a map's report from the comments and draws its maps."""

    def __init__(self, comments: CommentService, images: MapImageService) -> None:
        self.comments = comments
        self.images = images

    def _photos(self, comment: Any) -> tuple[ReportPhoto, ...]:
        """The comment's photos as stored (re-encoded JPEGs), with their descriptions."""
        found = []
        for info in comment.photos:
            _, data = self.comments.storage.photo(comment.id, info.n)
            found.append(ReportPhoto(data=data, media_type="image/jpeg",
                                     size_px=(info.width, info.height), alt=info.alt))
        return tuple(found)

    def build(self, map_id: str, lang: str, *, now: datetime | None = None,
              maps: bool = True) -> Report:
        """The report of ``map_id`` in ``lang`` (``maps=False`` leaves the images out)."""
        lang = check_language(lang)
        definition = self.comments.maps.get(map_id)
        zone = _zone(definition)
        everything = self.comments.for_staff(map_id)
        status = Counter(c.status for c in everything)
        published = [c for c in everything if c.status == "published"]
        code = GRID_EPSG.get(definition.tile_matrix_set, "EPSG:3857")
        places = self._places(published, code)
        kinds = [kind_of(c) for c in published]
        themes = Counter(t for c in published for t in c.theme_list())
        loose = sum(1 for c in published if not c.theme_list())
        words = WORDING[lang]
        by_theme = sorted(themes.items(), key=lambda kv: kv[0].casefold())
        if loose:
            by_theme.append((words["no_theme"], loose))
        kind_counts = Counter(kinds)
        rows = []
        for number, (comment, kind, place) in enumerate(zip(published, kinds, places,
                                                            strict=True), start=1):
            image = None
            if maps and place is not None:
                view = fit_view(code, place, width=COMMENT_MAP_PX[0], height=COMMENT_MAP_PX[1],
                                min_span_m=COMMENT_MIN_SPAN_M)
                image = self.images.render(definition, view,
                                           markers=[Marker(place, number=number)])
            created = datetime.fromisoformat(comment.created).astimezone(zone)
            where = _place_words(comment, kind, lang)
            rows.append(ReportComment(
                number=number, id=comment.id, date=format_date(created, lang),
                text=comment.text, language=comment.language, kind=kind,
                place=where, themes=tuple(comment.theme_list()),
                response=comment.response, changed_plan=comment.changed_plan, image=image,
                image_px=COMMENT_MAP_PX,
                alt=words["comment_map_alt"].format(number=number, place=where),
                photos=self._photos(comment)))
        overview = self._overview(definition, code, places) if maps else None
        return Report(
            lang=lang, map_id=map_id, title=text(definition.title, lang) or map_id,
            period=_period(definition, lang, zone),
            made=format_date((now or datetime.now(UTC)).astimezone(zone), lang),
            received=len(everything), published=status["published"], hidden=status["hidden"],
            pending=status["pending"], by_theme=tuple(by_theme),
            by_kind=tuple((words[f"kind_{k}"], kind_counts[k]) for k in KINDS
                          if kind_counts[k]),
            overview=overview, overview_px=OVERVIEW_PX, comments=tuple(rows))

    @staticmethod
    def _places(comments: Sequence[Comment], code: str) -> list[Any]:
        """Each comment's place in the image CRS (None without one), transformed at once."""
        found = [shapely.from_geojson(c.place) if c.place else None for c in comments]
        present = [g for g in found if g is not None]
        if not present:
            return found
        moved = iter(crs.transform_geometries(np.asarray(present, dtype=object), "CRS84",
                                              code))
        return [next(moved) if g is not None else None for g in found]

    def _overview(self, definition: MapDefinition, code: str, places: Sequence[Any]) -> bytes:
        """The plan area with every comment's place numbered as in the report."""
        present = [p for p in places if p is not None]
        area = crs.transform_geometries(
            np.asarray([shapely.box(*definition.extent)], dtype=object), "CRS84", code)[0]
        if present:
            area = shapely.union(area.envelope, shapely.GeometryCollection(present).envelope)
        view: View = fit_view(code, area, width=OVERVIEW_PX[0], height=OVERVIEW_PX[1],
                              min_span_m=OVERVIEW_MIN_SPAN_M, margin=0.05)
        markers = [Marker(p, number=n) for n, p in enumerate(places, start=1) if p is not None]
        return self.images.render(definition, view, markers=markers)

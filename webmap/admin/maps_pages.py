"""Staff pages for maps: the list, composing and publishing a map, and comment moderation."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from flask import Blueprint, Response, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from ..api.comments import export_comments, photo_response
from ..comments.service import STATUSES, CommentNotFound, is_comment_id
from ..i18n import LANGUAGES
from ..maps import GEOMETRY_KINDS
from ..problems import Conflict, Unprocessable
from ..services import current
from ..tiles.grids import GRIDS
from ..types import LayerKind
from . import compose, wording
from .language import staff_language, tr
from .staff import page, staff_blueprint

log = logging.getLogger("webmap.admin")
bp = staff_blueprint(Blueprint("admin_maps", __name__, url_prefix="/admin",
                               template_folder="templates"))
STATUS_ACTIONS = ("published", "hidden", "pending")
EXPORTS = ("geojson", "csv", "gpkg", "zip")


def _language_names() -> dict[str, str]:
    """Each language's name in the page's language (``Finnish (suomi)``)."""
    return {lang: tr(f"language.{lang}") for lang in LANGUAGES}


def _in_page_language(function: Any) -> Any:
    """``function`` (a wording helper) speaking the page's language."""
    lang = staff_language()
    return lambda *args: function(*args, lang=lang)


@bp.get("/maps")
def maps_list() -> Any:
    """Every map, whether it can be edited here, and links to its comments and widget."""
    registry = current().maps
    rows = [(definition, registry.is_published(definition.id)) for definition in registry.all()]
    return page("staff_maps.html", rows=rows)


def _choices() -> dict[str, Any]:
    """What the composition form offers: layers, styles, base maps, grids, languages."""
    services = current()
    layers = services.layers.layers()
    styles, broken = services.styles.all(), services.styles.broken()
    basemaps = sorted(services.styles.basemaps())
    rasters = [layer.id for layer in layers if layer.kind == LayerKind.RASTER]
    return {"layers": [layer for layer in layers if layer.kind == LayerKind.VECTOR],
            "styles": styles, "broken": broken, "basemaps": basemaps, "rasters": rasters,
            "grids": list(GRIDS), "languages": LANGUAGES, "language_names": _language_names(),
            "kinds": GEOMETRY_KINDS,
            "kind_names": {kind: tr(f"kind.{kind}") for kind in GEOMETRY_KINDS},
            "time_zones": compose.TIME_ZONES}


def _previous(map_id: str | None) -> dict[str, Any] | None:
    """The published document of ``map_id`` (its search sources and attributes are kept)."""
    if map_id is None:
        return None
    found = next((stored for stored in current().maps.published() if stored.id == map_id), None)
    return dict(found.definition) if found is not None else None


def _compose_page(map_id: str | None, values: dict[str, Any], errors: dict[str, str],
                  status: int = 200) -> tuple[str, int]:
    return page("staff_compose.html", status, map_id=map_id, values=values, errors=errors,
                **_choices())


def _publish(map_id: str | None) -> Any:
    previous = _previous(map_id)
    layers = current().layers.layers()
    bboxes = {layer.id: layer.bbox for layer in layers}
    fields = {layer.id: [f.name for f in layer.fields] for layer in layers
              if layer.kind == LayerKind.VECTOR}
    composition = compose.form_to_map(request.form, map_id=map_id, previous=previous,
                                      layer_bboxes=bboxes, layer_fields=fields,
                                      lang=staff_language())
    if composition.document is None:
        return _compose_page(map_id, composition.values, composition.errors, 422)
    if map_id is None and composition.values["id"] in {m.id for m in current().maps.all()}:
        composition.errors["id"] = tr("maps.exists", id=composition.values["id"])
        return _compose_page(map_id, composition.values, composition.errors, 422)
    try:
        definition, created = current().maps.publish(composition.document)
    except Unprocessable as exc:
        name = compose.field_for(str(exc.extra.get("field", "")))
        composition.errors[name] = compose.problem_text(exc.detail)
        return _compose_page(map_id, composition.values, composition.errors, 422)
    except Conflict as exc:
        composition.errors["id"] = compose.problem_text(exc.detail)
        return _compose_page(map_id, composition.values, composition.errors, 409)
    log.info("staff %s %s map %s", g.staff, "published" if created else "updated",
             definition.id)
    session["flash"] = tr("maps.published_flash" if created else "maps.updated_flash",
                          id=definition.id)
    return redirect(url_for("admin_maps.maps_list"), 303)


@bp.route("/maps/new", methods=["GET", "POST"])
def compose_new() -> Any:
    """Compose a new map (``?layer=…&style=…`` starts it with that layer)."""
    if request.method == "POST":
        return _publish(None)
    values = compose.empty_values()
    layer = request.args.get("layer", "")
    rows = [{"layer": layer, "style": request.args.get("style", ""), "plan": True,
             "label": ""}] if layer else []
    values["layers"] = compose.padded_rows(rows)
    return _compose_page(None, values, {})


@bp.route("/maps/<map_id>/edit", methods=["GET", "POST"])
def compose_edit(map_id: str) -> Any:
    """Edit a published map; a file map is shown with where to change it."""
    definition = current().maps.get(map_id)
    if not current().maps.is_published(map_id):
        return page("staff_file_map.html", definition=definition)
    if request.method == "POST":
        return _publish(map_id)
    previous = _previous(map_id) or {}
    return _compose_page(map_id, compose.map_to_form(previous), {})


@bp.route("/maps/<map_id>/take-down", methods=["GET", "POST"])
def take_down(map_id: str) -> Any:
    """Ask before taking a published map down; the post does it (its comments stay)."""
    definition = current().maps.get(map_id)
    if request.method == "GET":
        return page("staff_take_down.html", definition=definition)
    current().maps.unpublish(map_id)
    log.info("staff %s took map %s down", g.staff, map_id)
    session["flash"] = tr("maps.taken_down", id=map_id)
    return redirect(url_for("admin_maps.maps_list"), 303)


# ---------- comment moderation ----------

@bp.get("/maps/<map_id>/comments")
def moderation(map_id: str) -> Any:
    """A map's comments with names and e-mails, filtered by status, with publish/hide forms."""
    definition = current().maps.get(map_id)
    status = request.args.get("status", "pending")
    if status not in (*STATUSES, "all"):
        status = "pending"
    everything = current().comments.for_staff(map_id)
    counts = Counter(comment.status for comment in everything)
    shown = everything if status == "all" else [c for c in everything if c.status == status]
    return page("staff_moderation.html", definition=definition, status=status, counts=counts,
                total=len(everything), shown=shown, statuses=STATUSES,
                actions={target: tr(f"action.{target}") for target in STATUS_ACTIONS},
                exports=[(fmt, tr(f"export.{fmt}")) for fmt in EXPORTS],
                place=_in_page_language(wording.comment_place),
                language_names=_language_names(), when=wording.local_time,
                zone=_zone_of(definition))


def _zone_of(definition: Any) -> str:
    """The consultation's time zone (else the one its first language suggests)."""
    if definition.consultation is not None:
        return str(definition.consultation.time_zone)
    return "Europe/Stockholm" if definition.default_language == "sv" else "Europe/Helsinki"


@bp.post("/maps/<map_id>/comments/<comment_id>")
def moderate(map_id: str, comment_id: str) -> ResponseReturnValue:
    """Publish, hide or return a comment to pending, then back to the list."""
    current().maps.get(map_id)
    comments = current().comments
    if not is_comment_id(comment_id) or comments.storage.get(comment_id).map_id != map_id:
        raise CommentNotFound(comment_id)
    comment = current().comments.moderate(comment_id, request.form.get("status"))
    log.info("staff %s set comment %s to %s", g.staff, comment_id, comment.status)
    session["flash"] = tr("moderation.now", id=comment_id,
                          status=tr(f"status.{comment.status}"))
    back = request.form.get("back", "pending")
    return redirect(url_for("admin_maps.moderation", map_id=map_id,
                            status=back if back in (*STATUSES, "all") else "pending"), 303)


@bp.get("/maps/<map_id>/comments/<comment_id>/photos/<int:n>")
def photo(map_id: str, comment_id: str, n: int) -> Response:
    """A comment's photo for the moderation page, whatever the comment's status."""
    comment, data = current().comments.staff_photo(comment_id, n)
    if comment.map_id != map_id:
        raise CommentNotFound(comment_id)
    return photo_response(data, f"{comment.id}-{n}.jpg", cache="private, no-store")


# ---------- responses ----------

def _groups(comments: list[Any]) -> list[tuple[str, list[Any]]]:
    """Comments by theme (one may sit under several), then those without one."""
    themes: dict[str, list[Any]] = {}
    loose: list[Any] = []
    for comment in comments:
        tagged = comment.theme_list()
        for theme in tagged:
            themes.setdefault(theme, []).append(comment)
        if not tagged:
            loose.append(comment)
    groups = sorted(themes.items(), key=lambda kv: kv[0].casefold())
    return [*groups, ("", loose)] if loose else groups


REPORTS = ("pdf", "docx", "odt")
REPORT_LANGUAGES = (("fi", "vastineraportti"), ("sv", "samrådsredogörelse"),
                    ("en", "response report"))
"""(language, what the report is called in it)."""


@bp.get("/maps/<map_id>/responses")
def responses(map_id: str) -> Any:
    """Every comment of a map by theme, each with a response box; publishing."""
    from ..api.comments import _responses_state

    definition = current().maps.get(map_id)
    everything = current().comments.for_staff(map_id, statuses=("published", "pending"))
    return page("staff_responses.html", definition=definition,
                state=_responses_state(map_id), groups=_groups(everything),
                place=_in_page_language(wording.comment_place),
                language_names=_language_names(),
                when=wording.local_time, zone=_zone_of(definition), reports=REPORTS,
                report_languages=REPORT_LANGUAGES)


def _own_comment(map_id: str, comment_id: str) -> None:
    current().maps.get(map_id)
    if not is_comment_id(comment_id) or \
            current().comments.storage.get(comment_id).map_id != map_id:
        raise CommentNotFound(comment_id)


@bp.post("/maps/<map_id>/responses/<comment_id>")
def respond_page(map_id: str, comment_id: str) -> ResponseReturnValue:
    """Save one comment's response, themes and changed-plan mark."""
    _own_comment(map_id, comment_id)
    themes = [t for t in (request.form.get("themes") or "").split(",") if t.strip()]
    current().comments.respond(comment_id, {
        "response": request.form.get("response") or None, "themes": themes,
        "changed_plan": request.form.get("changed_plan") == "1"})
    log.info("staff %s answered comment %s", g.staff, comment_id)
    session["flash"] = tr("responses.saved", id=comment_id)
    return redirect(url_for("admin_maps.responses", map_id=map_id) + f"#c-{comment_id}", 303)


@bp.post("/maps/<map_id>/responses/theme")
def theme_response_page(map_id: str) -> ResponseReturnValue:
    """One response for every comment of a theme."""
    theme = request.form.get("theme") or ""
    changed = current().comments.respond_to_theme(map_id, theme,
                                                  request.form.get("response") or None)
    session["flash"] = tr("responses.theme_saved", n=changed, theme=theme)
    return redirect(url_for("admin_maps.responses", map_id=map_id), 303)


@bp.post("/maps/<map_id>/responses/publish")
def publish_responses_page(map_id: str) -> ResponseReturnValue:
    """Publish the map's responses (and tell those who asked)."""
    from ..api.render import base_url
    from ..comments.mail import start_sender

    service = current().comments
    publication = service.publish_responses(map_id, link=f"{base_url()}/maps/{map_id}")
    settings = current().settings
    if settings.smtp_url and publication.queued:
        start_sender(service.storage, settings)
    log.info("staff %s published the responses of map %s", g.staff, map_id)
    told = tr("responses.mailed" if settings.smtp_url else "responses.no_mailer",
              n=publication.queued)
    session["flash"] = " ".join([tr("responses.public", n=publication.responses),
                                 *([told] if publication.queued else [])])
    return redirect(url_for("admin_maps.responses", map_id=map_id), 303)


@bp.get("/maps/<map_id>/comments/export")
def export(map_id: str) -> Response:
    """The comments as GeoJSON, CSV or GeoPackage, through the staff API's own export."""
    return export_comments(map_id)


@bp.get("/maps/<map_id>/report")
def report(map_id: str) -> Response:
    """The response report (``format``, ``lang``), through the staff API's own route."""
    from ..api.report import report as report_download

    return report_download(map_id)

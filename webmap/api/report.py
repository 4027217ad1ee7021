"""``/admin/api/maps/{id}/report``: the response report as PDF, DOCX or ODT, for staff."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..report.collect import check_language
from ..report.formats import check_format
from ..services import current
from .accepts import accepts
from .staff import require_bearer

bp = Blueprint("report_staff", __name__, url_prefix="/admin/api")
bp.before_request(require_bearer)


@bp.get("/maps/<map_id>/report")
@accepts("format", "lang")
def report(map_id: str) -> Response:
    """The map's response report as a download: ``format=pdf`` (default; tagged, to publish),
    ``docx`` or ``odt`` (to edit), in ``lang=fi|sv|en`` (default: the map's first language).
    Published comments only, without names or e-mail addresses."""
    fmt_name = request.args.get("format") or "pdf"
    kind = check_format(fmt_name)
    services = current()
    definition = services.maps.get(map_id)
    lang = check_language(request.args.get("lang") or definition.default_language)
    built = services.reports.build(map_id, lang)
    return Response(kind.write(built), mimetype=kind.media_type, headers={
        "Content-Disposition": f'attachment; filename="{built.filename(fmt_name)}"',
        "Content-Language": lang, "Cache-Control": "no-store"})

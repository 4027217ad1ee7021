"""The staff HTML pages under /admin/: sign-in, layers, upload and report, preview, style choice.

Map composition and comment moderation are in ``maps_pages``; both share the hooks of
``staff``: a signed-in session for every page but the sign-in form, a CSRF token on every
post, ``Cache-Control: no-store`` and problems shown as pages.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.utils import secure_filename

from ..database import make_private_dir
from ..layers import remove_layer
from ..maps import BaseMap, MapDefinition
from ..problems import Conflict, InvalidParameter, LayerNotFound, NotFound, Problem
from ..services import current
from ..settings import Settings
from ..store.common import LAYER_ID_RE
from ..types import LayerInfo, LayerKind
from ..widget import assets
from ..widget.build import build_map
from . import maps_pages, wording
from . import session as staff_session
from .language import language_links, localised, script_strings, staff_language, tr
from .staff import STAFF_BLUEPRINTS, import_upload, page, staff_blueprint

log = logging.getLogger("webmap.admin")
bp = staff_blueprint(Blueprint("admin_pages", __name__, url_prefix="/admin",
                               template_folder="templates", static_folder="static",
                               static_url_path="/static"))
UPLOAD_FIELDS = ("id", "title", "crs", "layer", "attribution", "description", "encoding",
                 "x_column", "y_column", "wkt_column", "id_field", "editable")
KEPT_SECONDS = 3600
"""How long a file whose import failed is kept for the next try."""
KEPT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NO_BASE = "none"
MAX_REPORT_WARNINGS = 10


# ---------- sign-in ----------

def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a staff page of this site, never another site."""
    default = url_for("admin_pages.layers")
    if not target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default  # no header splitting: CR/LF never reach Location
    parts = urlsplit(target)
    admin = request.script_root + "/admin/"
    if (parts.scheme or parts.netloc or not parts.path.startswith(admin) or "\\" in target
            or ".." in parts.path.split("/")):
        return default
    return target


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> Any:
    """The sign-in form: a staff token (from ``webmap tokens create NAME``)."""
    target = request.values.get("next")
    if request.method == "GET":
        if staff_session.staff_name():
            return redirect(_safe_next(target), 303)
        return page("staff_sign_in.html", next=target or "")
    # A valid token always signs in: wrong ones (this client's or a neighbour's behind the
    # same address) only slow down further wrong guesses.
    if staff_session.sign_in(request.form.get("token", "")) is None:
        if not staff_session.sign_in_allowed():
            wait_s = staff_session.retry_after_s()
            body, _ = page("staff_sign_in.html", 429, next=target or "",
                           error=tr("sign_in.too_many", n=wait_s))
            return Response(body, 429, {"Retry-After": str(wait_s)}, mimetype="text/html")
        staff_session.count_failed_sign_in()
        log.warning("failed staff sign-in")
        return page("staff_sign_in.html", 401, next=target or "",
                    error=tr("sign_in.wrong"))
    return redirect(_safe_next(target), 303)


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End the session."""
    staff_session.sign_out()
    session["flash"] = tr("sign_in.signed_out")
    return redirect(url_for("admin_pages.sign_in"), 303)


# ---------- layers ----------

@bp.get("/layers")
def layers() -> Any:
    """Every layer, with links to its preview."""
    return page("staff_layers.html", layers=current().layers.layers())


def _exists(layer_id: str) -> bool:
    try:
        current().layers.layer(layer_id)
    except LayerNotFound:
        return False
    return True


def _field_of(exc: Problem) -> str:
    """The form field an import problem is about."""
    named = exc.extra.get("parameter") or exc.extra.get("field")
    if named in UPLOAD_FIELDS or named == "file":
        return str(named)
    detail = exc.detail.lower()
    if isinstance(exc, Conflict) and "maps use" in detail:
        return "force"
    if isinstance(exc, Conflict) or detail.startswith("layer id"):
        return "id"
    if "--crs" in detail or "'crs' field" in detail or "not a crs code" in detail:
        return "crs"
    if "--layer" in detail or "has no layer" in detail or " layers: " in detail:
        return "layer"
    if "--x" in detail or "x_column" in detail:
        return "x_column"
    return "file"


def _check_upload(values: dict[str, str], replace: bool, kept: dict[str, str] | None
                  ) -> dict[str, str]:
    errors = {}
    layer_id = values["id"]
    if not layer_id:
        errors["id"] = tr("upload.no_id")
    elif not LAYER_ID_RE.match(layer_id):
        errors["id"] = tr("upload.bad_id")
    upload = request.files.get("file")
    if (upload is None or not upload.filename) and kept is None:
        errors["file"] = tr("upload.no_file")
    if not errors and not replace and _exists(layer_id):
        errors["id"] = tr("upload.exists", id=layer_id)
    return errors


def _kept_root() -> Path:
    return current().settings.data_dir / "tmp" / "kept"


def _kept() -> dict[str, str] | None:
    """The file kept from this staff member's last failed upload, if it is still there."""
    kept = session.get("kept_upload")
    if not isinstance(kept, dict) or not KEPT_TOKEN.match(str(kept.get("token", ""))):
        return None
    folder = _kept_root() / str(kept["token"])
    files = list(folder.iterdir()) if folder.is_dir() else []
    if len(files) != 1:
        session.pop("kept_upload", None)
        return None
    return {"token": str(kept["token"]), "name": files[0].name, "path": str(files[0])}


def _forget_kept() -> None:
    kept = _kept()
    if kept is not None:
        shutil.rmtree(Path(kept["path"]).parent, ignore_errors=True)
    session.pop("kept_upload", None)


def _keep_upload() -> dict[str, str] | None:
    """Save the posted file for the next try (the browser forgets it when the page returns
    with errors); old kept files are cleared."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _kept()
    _forget_kept()
    root = make_private_dir(_kept_root())
    for old in root.iterdir():
        if time.time() - old.stat().st_mtime > KEPT_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    token = secrets.token_urlsafe(24)
    folder = root / token
    folder.mkdir(mode=0o700)
    target = folder / (secure_filename(upload.filename) or "upload")
    upload.save(target)
    session["kept_upload"] = {"token": token}
    return {"token": token, "name": target.name, "path": str(target)}


def _upload_page(values: dict[str, str], errors: dict[str, str], replace: bool,
                 code: int = 200, choices: list[str] | None = None) -> tuple[str, int]:
    kept = _kept() if errors else None
    return page("staff_upload.html", code, values=values, errors=errors, replace=replace,
                max_mb=current().settings.max_upload_mb, kept=kept["name"] if kept else None,
                layer_choices=choices or [], force=request.form.get("force") == "yes")


@bp.route("/layers/new", methods=["GET", "POST"])
def upload() -> Any:
    """The upload form; a post imports the file and shows the report (or the errors). A file
    whose import failed is kept for the next try, so staff fix a field without choosing it
    again; a GeoPackage's layers are offered to choose from."""
    if request.method == "GET":
        values = {k: request.args.get(k, "") for k in UPLOAD_FIELDS}
        return _upload_page(values, {}, request.args.get("replace") == "yes")
    values = {k: request.form.get(k, "").strip() for k in UPLOAD_FIELDS}
    replace = request.form.get("replace") == "yes"
    choices: list[str] = []
    errors = _check_upload(values, replace, _kept())
    if not errors:
        kept = _keep_upload()
        try:
            report = import_upload(values["id"], Path(kept["path"]) if kept else None)
        except Problem as exc:
            errors[_field_of(exc)] = wording.import_error(exc.detail, staff_language())
            found = exc.extra.get("choices")
            choices = [str(c) for c in found] if isinstance(found, list) else []
        else:
            _forget_kept()
            kept_report = report.as_dict()
            kept_report["warnings"] = kept_report["warnings"][:MAX_REPORT_WARNINGS]
            session["report"] = kept_report
            log.info("staff %s imported layer %s", g.staff, report.layer_id)
            return redirect(url_for("admin_pages.report", layer_id=report.layer_id), 303)
    elif request.files.get("file") and request.files["file"].filename:
        _keep_upload()
    return _upload_page(values, errors, replace, 422, choices)


PLAN_FIELDS = ("id", "name", "municipality")


@bp.route("/plans/new", methods=["GET", "POST"])
def plan_upload() -> Any:
    """Upload a plan in a national model (Ryhti, NGP): the same import as ``webmap plans
    import``; the answer is the plan's report with links to its layers."""
    from ..plans.service import PLAN_ID_RE
    from .staff import import_plan_upload

    max_mb = current().settings.max_upload_mb
    if request.method == "GET":
        values = {k: request.args.get(k, "") for k in PLAN_FIELDS}
        return page("staff_plan_upload.html", values=values, errors={}, max_mb=max_mb)
    values = {k: request.form.get(k, "").strip() for k in PLAN_FIELDS}
    errors: dict[str, str] = {}
    if not PLAN_ID_RE.match(values["id"]):
        errors["id"] = tr("plans.id_hint")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = tr("plans.file_hint", mb=max_mb)
    if not errors:
        try:
            report = import_plan_upload(values["id"])
        except Problem as exc:
            field = "id" if exc.extra.get("parameter") == "id" else "file"
            errors[field] = wording.import_error(exc.detail, staff_language())
        else:
            log.info("staff %s imported plan %s", g.staff, report.plan_id)
            return page("staff_plan_report.html", report=report,
                        model_name=tr(f"plans.model_{report.model}"),
                        plan_url=url_for("plans.plan", plan_id=report.plan_id))
    return page("staff_plan_upload.html", 422, values=values, errors=errors, max_mb=max_mb)


@bp.get("/layers/<layer_id>/report")
def report(layer_id: str) -> Any:
    """The last import's report, in plain language, with the way on to the preview."""
    info = current().layers.layer(layer_id)
    kept = session.get("report")
    if not isinstance(kept, dict) or kept.get("layer_id") != layer_id:
        return redirect(url_for("admin_pages.preview", layer_id=layer_id), 303)
    return page("staff_report.html", info=info, report=kept,
                sentences=wording.report_sentences(kept, staff_language()),
                warnings=wording.other_warnings(kept))


# ---------- preview ----------

def _basemap_ids() -> list[str]:
    return sorted(current().styles.basemaps())


def _chosen_base(value: str | None) -> str:
    ids = _basemap_ids()
    if value in ids or value == NO_BASE:
        return str(value)
    return ids[0] if ids else NO_BASE


def _base_attribution(base_id: str) -> str:
    try:
        return current().basemaps.get(base_id).attribution
    except NotFound:
        return ""


def preview_definition(info: LayerInfo, base_id: str) -> MapDefinition:
    """A one-layer map for the widget's folium builder, in Web Mercator over a chosen base, in
    the page's language."""
    root = request.script_root
    if info.kind == LayerKind.RASTER:
        base = BaseMap(kind="xyz", attribution=info.attribution or " ",
                       url=f"{root}/collections/{info.id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}")
    elif base_id == NO_BASE:
        base = BaseMap(kind="xyz")
    else:
        base = BaseMap(kind="xyz", attribution=_base_attribution(base_id) or " ",
                       url=f"{root}/basemaps/{base_id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}.png")
    west, south, east, north = info.bbox
    pad = 0.001
    extent = (max(west - pad, -180), max(south - pad, -85), min(east + pad, 180),
              min(north + pad, 85))
    lang = staff_language()
    return MapDefinition(id=f"staff-preview-{info.id}", title={lang: info.title or info.id},
                         extent=extent, languages=(lang,), base=base,
                         version=f"{info.version}-{base_id}-{root}")


def _style_data(style_id: str | None) -> dict[str, Any] | None:
    """The chosen style as the widget draws it (the same defaulted numbers)."""
    return current().styles.browser(style_id) if style_id else None


def preview_context(info: LayerInfo, base_id: str, style_id: str | None) -> dict[str, Any]:
    """What the preview map needs: the vendor files, folium's map element and the config."""
    built = build_map(preview_definition(info, base_id), staff_language(), "")
    vendor = [(name, assets.PACKAGES[name].version)
              for name in ("leaflet", "leaflet-gesture-handling")]
    return {
        "map_html": built.html, "vendor": vendor, "base_id": base_id,
        "map_js": url_for("admin_pages.preview_script", layer_id=info.id, base=base_id),
        "config": {"kind": str(info.kind), "bbox": list(info.bbox),
                   "items": url_for("features.items", layer_id=info.id)
                   if info.kind == LayerKind.VECTOR else None,
                   "style": _style_data(style_id)},
    }


def _links(info: LayerInfo) -> dict[str, str]:
    root = request.host_url.rstrip("/") + request.script_root
    public = current().settings.public_url or root
    return {"root": public, "collection": f"{public}/collections/{info.id}",
            "items": f"{public}/collections/{info.id}/items",
            "tiles": f"{public}/collections/{info.id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"}


@bp.get("/layers/<layer_id>")
def preview(layer_id: str) -> Any:
    """A layer's details, a map of it, its API links, and the way to replace or remove it."""
    info = current().layers.layer(layer_id)
    base_id = _chosen_base(request.args.get("base"))
    return page("staff_preview.html", info=info, links=_links(info), bases=_basemap_ids(),
                **preview_context(info, base_id, request.args.get("style")))


@bp.get("/layers/<layer_id>/map.js")
def preview_script(layer_id: str) -> Response:
    """folium's script creating the preview map (a file: the CSP allows no inline script)."""
    info = current().layers.layer(layer_id)
    base_id = _chosen_base(request.args.get("base"))
    built = build_map(preview_definition(info, base_id), staff_language(), "")
    return Response(built.script, mimetype="text/javascript")


@bp.route("/layers/<layer_id>/remove", methods=["GET", "POST"])
def remove(layer_id: str) -> Any:
    """Ask before removing a layer; the post removes it."""
    services = current()
    info = services.layers.layer(layer_id)
    users = services.layer_users().using(layer_id)
    if request.method == "GET":
        return page("staff_remove.html", info=info, users=users)
    remove_layer(services.layers, layer_id, maps=services.layer_users(),
                 force=request.form.get("force") == "yes")
    log.info("staff %s removed layer %s", g.staff, layer_id)
    session["flash"] = tr("remove.done", id=layer_id)
    return redirect(url_for("admin_pages.layers"), 303)


# ---------- style choice ----------

GEOMETRY_OF = {"Point": "point", "MultiPoint": "point", "LineString": "line",
               "MultiLineString": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}


@bp.get("/layers/<layer_id>/style")
def style(layer_id: str) -> Any:
    """Pick a style and a base map; see the contrast check's verdict and the layer drawn so."""
    info = current().layers.layer(layer_id)
    catalogue = current().styles
    styles, broken = catalogue.all(), catalogue.broken()
    geometry = GEOMETRY_OF.get(info.geometry_type)
    style_id = request.args.get("style") or ""
    if style_id and style_id not in styles:
        raise InvalidParameter("style", tr("problem.no_style", id=repr(style_id)))
    base_id = _chosen_base(request.args.get("base"))
    chosen = styles.get(style_id)
    issues = None
    if chosen is not None:
        palettes = catalogue.basemaps()
        palette = {base_id: palettes[base_id]} if base_id in palettes else {
            "white (no base map)": ("#ffffff",)}
        issues = catalogue.check(chosen, palette)
    return page("staff_style.html", info=info, styles=styles, broken=broken, style_id=style_id,
                chosen=chosen, geometry=geometry, issues=issues, bases=_basemap_ids(),
                wording=wording, links=_links(info),
                **preview_context(info, base_id, style_id or None))


def init_app(app: Flask, settings: Settings) -> None:
    """Session, CSRF and the staff pages."""
    staff_session.init_session(app, settings)
    app.register_blueprint(bp)
    app.register_blueprint(maps_pages.bp)
    app.add_template_filter(wording.sentence, "staff_sentence")
    app.add_template_global(staff_session.csrf_token, "staff_csrf_token")
    app.add_template_global(tr, "t")  # imported macros see globals, not the context
    app.add_template_global(localised, "localised")

    @app.context_processor
    def staff_globals() -> dict[str, Any]:
        if request.blueprint not in STAFF_BLUEPRINTS:
            return {}
        lang = staff_language()
        return {"staff": g.get("staff"), "staff_lang": lang,
                "language_links": language_links, "script_strings": script_strings,
                "NO_BASE": NO_BASE,
                "crs_name": wording.crs_name,
                "degrees": lambda bbox: wording.degrees(bbox, lang)}

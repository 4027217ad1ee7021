"""What every staff page shares: the sign-in check, CSRF, no-store, problems shown as pages, and
the upload path that the staff API and the upload page both take."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.utils import secure_filename

from ..database import make_private_dir
from ..i18n import FALLBACK, staff_catalogue
from ..ingest.bounded import ImportLimits
from ..layers import import_file
from ..plans.service import PlanReport
from ..problems import InvalidParameter, Problem
from ..services import current
from ..types import ImportReport
from . import session as staff_session
from .language import choose_language, tr

UPLOAD_OPTIONS = ("title", "crs", "layer", "encoding", "x_column", "y_column", "wkt_column",
                  "id_field", "time_field")
META_OPTIONS = ("attribution", "description")
ANONYMOUS_BODY_BYTES = 16 * 1024
"""The largest post accepted before sign-in."""

STAFF_BLUEPRINTS = {"admin_pages", "admin_maps"}
OPEN_ENDPOINTS = {"admin_pages.sign_in", "admin_pages.static"}


def require_staff() -> ResponseReturnValue | None:
    """A signed-in staff member for every page but sign-in; a CSRF token on every post."""
    if request.endpoint not in OPEN_ENDPOINTS:
        name = staff_session.staff_name()
        if name is None:
            if request.method in ("GET", "HEAD"):
                back = request.script_root + request.full_path.rstrip("?")
                return redirect(url_for("admin_pages.sign_in", next=back), 303)
            raise Problem(tr("problem.sign_in_first"), status=401, title=tr("title.not_signed_in"))
        g.staff = name
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    settings = current().settings
    if g.get("staff") is None:
        # not signed in (the sign-in form): a token and a CSRF field, never an upload; the
        # body is refused past this before the form is read
        request.max_content_length = ANONYMOUS_BODY_BYTES
        if (request.content_length or 0) > ANONYMOUS_BODY_BYTES:
            raise Problem(tr("problem.form_large"), status=413, title=tr("title.content_too_large"))
    if (request.content_length or 0) > settings.max_upload_bytes:
        raise Problem(tr("problem.upload_large", mb=settings.max_upload_mb), status=413,
                      title=tr("title.content_too_large"))
    staff_session.check_csrf()
    return None


def no_store(response: Response) -> Response:
    """Staff pages carry personal data and tokens: never cached anywhere."""
    if request.endpoint != "admin_pages.static":
        response.headers["Cache-Control"] = "no-store"
    return response


MISSING = re.compile(r"^there is no (collection|map|comment) ('[^']*')$")
"""The not-found problems of a staff page's own address, said in the page's language."""
_TITLES = {text.casefold(): key for key, text in staff_catalogue(FALLBACK).items()
           if key.startswith("title.")} | {"request entity too large": "title.content_too_large",
                                            "internal server error": "title.internal"}
"""A problem's English title -> its staff string."""


def problem_page(exc: Exception) -> ResponseReturnValue:
    """A problem (or a routing error) inside the staff pages, as a page."""
    headers: dict[str, str] = {}
    if isinstance(exc, Problem):
        status, title, detail, headers = exc.status, exc.title, exc.detail, exc.headers
    elif isinstance(exc, HTTPException):
        status, title = exc.code or 500, exc.name
        detail = exc.description or exc.name
    else:
        raise exc
    key = _TITLES.get(title.casefold())
    if key is not None:
        title = tr(key)  # the detail may come from the API, in English, but for:
    missing = MISSING.match(detail)
    if missing:
        detail = tr(f"missing.{missing.group(1)}", id=missing.group(2))
    return render_template("staff_error.html", title=title, detail=detail), status, headers


def page(template: str, code: int = 200, /, **context: Any) -> tuple[str, int]:
    """A staff page with its status code."""
    return render_template(template, **context), code


def staff_blueprint(blueprint: Blueprint) -> Blueprint:
    """Give a staff blueprint the sign-in check, no-store and problem pages."""
    blueprint.before_request(choose_language)
    blueprint.before_request(require_staff)
    blueprint.after_request(no_store)
    blueprint.register_error_handler(Problem, problem_page)
    blueprint.register_error_handler(HTTPException, problem_page)
    return blueprint


@contextmanager
def saved_upload() -> Iterator[Path]:
    """The multipart ``file`` saved in a private scratch folder, removed afterwards."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidParameter("file", "send the data as a multipart form field named 'file'")
    scratch = Path(tempfile.mkdtemp(prefix="upload-",
                                    dir=make_private_dir(current().settings.data_dir / "tmp")))
    try:
        # the name only helps formats made of several files; the type is sniffed from bytes
        target = scratch / (secure_filename(upload.filename) or "upload")
        upload.save(target)
        yield target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def import_upload(layer_id: str, saved: Path | None = None) -> ImportReport:
    """Save the multipart ``file`` aside and import it through the same path as the CLI
    (``force``: replace even when a map that uses the layer reads a missing attribute).
    ``saved`` is a file already on disk (an upload the staff page kept after an error)."""
    if saved is not None:
        return _import_saved(layer_id, saved)
    with saved_upload() as target:
        return _import_saved(layer_id, target)


def _import_saved(layer_id: str, target: Path) -> ImportReport:
    options: dict[str, Any] = {k: request.form[k].strip() for k in UPLOAD_OPTIONS
                               if request.form.get(k, "").strip()}
    meta: dict[str, Any] = {k: request.form[k] for k in META_OPTIONS if request.form.get(k)}
    editable = request.values.get("editable")
    if editable is not None:
        value = editable.strip().lower()
        if value not in ("yes", "true", "1", "on", "no", "false", "0", "off", ""):
            raise InvalidParameter("editable", "editable is true or false")
        meta["editable"] = value in ("yes", "true", "1", "on")
    services = current()
    return import_file(services.layers, target, layer_id, maps=services.layer_users(),
                       force=is_forced(), limits=ImportLimits.from_settings(services.settings),
                       **meta, **options)


def is_forced() -> bool:
    """``force=yes|true|1`` in the query or the form."""
    value = request.values.get("force", "")
    return value.strip().lower() in ("yes", "true", "1", "on")


def import_plan_upload(plan_id: str) -> PlanReport:
    """Save the multipart ``file`` aside and import it as a plan, as ``webmap plans import``."""
    options = {k: request.form[k] for k in ("name", "municipality") if request.form.get(k)}
    with saved_upload() as target:
        return current().plans.import_plan(target, plan_id, **options)

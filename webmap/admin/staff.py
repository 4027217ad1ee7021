"""What every staff page shares: the sign-in check, CSRF, no-store, problems shown as pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from ..problems import Problem
from ..settings import Settings
from ..store.base import Store
from ..styles import Style, StyleError, load_style
from . import session as staff_session

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
            raise Problem("sign in first: your session has ended or was never started",
                          status=401, title="Not signed in")
        g.staff = name
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    settings: Settings = current_app.extensions["webmap.settings"]
    if (request.content_length or 0) > settings.max_upload_bytes:
        raise Problem(f"the upload is larger than the limit of {settings.max_upload_mb} MiB",
                      status=413, title="Content too large")
    staff_session.check_csrf()
    return None


def no_store(response: Response) -> Response:
    """Staff pages carry personal data and tokens: never cached anywhere."""
    if request.endpoint != "admin_pages.static":
        response.headers["Cache-Control"] = "no-store"
    return response


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
    return render_template("staff_error.html", title=title, detail=detail), status, headers


def page(template: str, code: int = 200, /, **context: Any) -> tuple[str, int]:
    """A staff page with its status code."""
    return render_template(template, **context), code


def staff_blueprint(blueprint: Blueprint) -> Blueprint:
    """Give a staff blueprint the sign-in check, no-store and problem pages."""
    blueprint.before_request(require_staff)
    blueprint.after_request(no_store)
    blueprint.register_error_handler(Problem, problem_page)
    blueprint.register_error_handler(HTTPException, problem_page)
    return blueprint


def store() -> Store:
    """The layer store."""
    backend: Store = current_app.extensions["webmap.store"]
    return backend


def settings() -> Settings:
    """The settings."""
    found: Settings = current_app.extensions["webmap.settings"]
    return found


def load_all_styles() -> tuple[dict[str, Style], list[str]]:
    """Every usable style by id, and a line for each style file that cannot be used."""
    styles: dict[str, Style] = {}
    broken: list[str] = []
    directory: Path = settings().styles_dir
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            styles[path.stem] = load_style(path)
        except StyleError as exc:
            broken.append(str(exc))
    return styles, broken



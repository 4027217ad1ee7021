"""The Flask application factory: ``gunicorn 'webmap.app:create_app()'``."""

from __future__ import annotations

import atexit
import gzip
import logging
import os

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from .admin import api as admin_api
from .admin import pages as admin_pages
from .api import (
    accepts,
    basemaps,
    comments,
    edit,
    features,
    landing,
    mapimage,
    plans,
    report,
    search,
    tiles,
)
from .headers import CONTENT_SECURITY_POLICY, HSTS, NOSNIFF, REFERRER_POLICY
from .problems import PROBLEM_MEDIA_TYPE, Problem, http_exception_body, unexpected_error_body
from .services import EXTENSION, Services, build_services
from .settings import Settings
from .widget import views as widget

COMPRESSIBLE = ("application/json", "application/geo+json", "application/problem+json",
                "application/vnd.oai.openapi+json", "application/vnd.mapbox-vector-tile",
                "text/html", "text/css", "text/javascript")
MIN_GZIP_BYTES = 1024
GZIP_LEVEL = 3


def create_app(services: Services | None = None) -> Flask:
    """The web app over ``services`` (default: built from ``WEBMAP_*`` and closed at exit)."""
    if services is None:
        services = build_services(Settings.from_env(os.environ))
        atexit.register(services.close)
    settings = services.settings
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Flask(__name__, template_folder="api/templates", static_folder="api/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = services
    for blueprint in (landing.bp, features.bp, edit.bp, tiles.bp, basemaps.bp, search.bp,
                      plans.bp, widget.bp, admin_api.bp, mapimage.bp,
                      report.bp):
        app.register_blueprint(blueprint)
    accepts.init_app(app)
    comments.init_app(app, services.limits)
    admin_pages.init_app(app, settings)
    widget.warn_missing_packages()
    if not settings.public_url:
        logging.getLogger("webmap").warning(
            "WEBMAP_PUBLIC_URL is not set: links are built from each request's Host header; "
            "set it in production (e.g. https://kartta.example.fi)")
    _register_errors(app)
    app.after_request(_finish)
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops, x_prefix=hops)
    return app


def _problem_response(body: dict[str, object], headers: dict[str, str] | None = None
                      ) -> Response:
    return Response(orjson.dumps(body), status=int(str(body["status"])),
                    mimetype=PROBLEM_MEDIA_TYPE, headers=headers)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(Problem)
    def problem(exc: Problem) -> Response:
        return _problem_response(exc.body(), exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        methods = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(methods)} if methods else None
        return _problem_response(http_exception_body(exc), headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        return _problem_response(unexpected_error_body(exc))




def _finish(response: Response) -> Response:
    """Security headers on everything; gzip for text-like bodies when the client accepts it."""
    response.headers.setdefault("X-Content-Type-Options", NOSNIFF)
    response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype in {"application/json", "application/geo+json",
                             "application/vnd.mapbox-vector-tile", "image/png",
                             "application/problem+json"}:
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
    if (response.status_code == 200 and not response.direct_passthrough
            and (response.mimetype or "").startswith(COMPRESSIBLE)
            and "gzip" in request.headers.get("Accept-Encoding", "")
            and "Content-Encoding" not in response.headers):
        data = response.get_data()
        if len(data) >= MIN_GZIP_BYTES:
            response.set_data(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
            response.vary.add("Accept-Encoding")
    return response

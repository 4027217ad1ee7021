"""Comment routes: residents post and read published comments; staff moderate and export."""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, request, send_file
from flask_limiter import RateLimitExceeded
from limits.errors import StorageError
from redis.exceptions import RedisError
from werkzeug.exceptions import RequestEntityTooLarge

from ..comments.export import (
    DELIMITERS,
    FORMATS,
    csv_bytes,
    default_delimiter,
    feature_collection,
    write_gpkg,
    write_zip,
)
from ..comments.mail import start_sender
from ..comments.photos import MEDIA_TYPE
from ..comments.service import MAX_BODY_BYTES, RESPONSE_FIELDS, STATUSES, CommentService
from ..limits import RateLimits
from ..maps.model import MAX_PHOTOS
from ..problems import (
    PROBLEM_MEDIA_TYPE,
    InvalidParameter,
    Problem,
    TooManyRequests,
    Unprocessable,
)
from ..services import current
from ..types import MediaType
from .accepts import accepts
from .render import base_url, json_response
from .staff import require_bearer

public = Blueprint("comments", __name__)
staff = Blueprint("comments_staff", __name__, url_prefix="/admin/api")
staff.before_request(require_bearer)
NO_STORE = {"Cache-Control": "no-store"}
"""``app.extensions`` key of the comment rate limiter (web-tier state, not a service)."""
PREFLIGHT_MAX_AGE_S = 600


def _service() -> CommentService:
    return current().comments


def _json_object() -> dict[str, Any]:
    """The body as a JSON object of at most 64 KiB, or a problem saying what is wrong."""
    request.max_content_length = MAX_BODY_BYTES
    if not request.is_json:
        raise Problem("send JSON with Content-Type: application/json", status=415,
                      title="Unsupported media type")
    too_large = Problem(f"the body is larger than {MAX_BODY_BYTES // 1024} KiB", status=413,
                        title="Content too large")
    if request.content_length is None and request.environ.get("wsgi.input_terminated"):
        # chunked: read one byte past the limit ourselves, so a long body is a 413, not a
        # body cut short (which would be a 400 for invalid JSON)
        raw = request.environ["wsgi.input"].read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise too_large
    else:
        try:
            raw = request.get_data(cache=False)
        except RequestEntityTooLarge:
            raise too_large from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Problem("the body is not valid JSON", title="Invalid body") from None
    if not isinstance(data, dict):
        raise Problem("the body must be a JSON object", title="Invalid body")
    return data


MULTIPART_FIELDS = frozenset({"comment", "photo_alt"})
MULTIPART_OVERHEAD = 64 * 1024
"""Room for part headers and boundaries beside the comment and the photos."""


def _multipart() -> tuple[dict[str, Any], list[bytes], list[str]]:
    """A ``multipart/form-data`` comment: the part ``comment`` holds the same JSON object as
    a JSON post; up to three file parts ``photo`` come with one text part ``photo_alt`` each,
    in the same order."""
    max_photo = current().settings.photo_max_bytes
    request.max_content_length = MAX_BODY_BYTES + MAX_PHOTOS * max_photo + MULTIPART_OVERHEAD
    request.max_form_memory_size = MAX_BODY_BYTES
    request.max_form_parts = 2 * MAX_PHOTOS + 8
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        raise Problem(f"the body is larger than {request.max_content_length // 1048576} MiB "
                      f"(at most {MAX_PHOTOS} photos of {max_photo // 1048576} MiB each)",
                      status=413, title="Content too large") from None
    unknown = sorted((set(form) - MULTIPART_FIELDS) | (set(files) - {"photo"}))
    if unknown:
        raise Unprocessable(unknown[0], f"unknown part {unknown[0]!r}; a multipart comment "
                                        "has comment (its JSON), photo files and one "
                                        "photo_alt per photo")
    raw = form.getlist("comment")
    if len(raw) != 1:
        raise Unprocessable("comment", "send the comment's JSON object in one part named "
                                       "comment")
    try:
        data = orjson.loads(raw[0])
    except orjson.JSONDecodeError:
        raise Unprocessable("comment", "the comment part is not valid JSON") from None
    if not isinstance(data, dict):
        raise Unprocessable("comment", "the comment part must be a JSON object")
    photos: list[bytes] = []
    for upload in files.getlist("photo"):
        content = upload.stream.read(max_photo + 1)
        if not content and not upload.filename:
            continue  # a file input left empty
        photos.append(content)
    return data, photos, form.getlist("photo_alt")


def _idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header, bare or as a quoted structured-field string."""
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


@public.get("/maps/<map_id>/comments", provide_automatic_options=False)
@accepts()
def published_comments(map_id: str) -> Response:
    """Published comments as GeoJSON: text, time, feature and language, no personal data."""
    body = feature_collection(_service().published(map_id), personal=False, base=base_url())
    return Response(body, mimetype=MediaType.GEOJSON, headers={"Cache-Control": "no-cache"})


@public.post("/maps/<map_id>/comments", provide_automatic_options=False)
@accepts()
def post_comment(map_id: str) -> Response:
    """Store a comment: 201 the first time, 200 with the same id for a retried key. JSON, or
    ``multipart/form-data`` with photos (see ``_multipart``)."""
    service = _service()
    service.maps.get(map_id)  # 404 before anything about the body
    if request.mimetype == "multipart/form-data":
        data, photos, alts = _multipart()
        receipt = service.submit(map_id, data, idempotency_key=_idempotency_key(),
                                 photos=photos, photo_alts=alts)
    else:
        receipt = service.submit(map_id, _json_object(), idempotency_key=_idempotency_key())
    headers = dict(NO_STORE)
    if not receipt.created:
        headers["Idempotent-Replayed"] = "true"
    return json_response({"id": receipt.id, "status": receipt.status},
                         status=201 if receipt.created else 200, headers=headers)


def photo_response(data: bytes, name: str, *, cache: str) -> Response:
    """A stored JPEG, revalidated by its ETag."""
    response = Response(data, mimetype=MEDIA_TYPE,
                        headers={"Cache-Control": cache,
                                 "Content-Disposition": f'inline; filename="{name}"',
                                 "X-Content-Type-Options": "nosniff"})
    response.add_etag()
    response.make_conditional(request)
    return response


@public.get("/maps/<map_id>/comments/<comment_id>/photos/<int:n>",
            provide_automatic_options=False)
@accepts()
def public_photo(map_id: str, comment_id: str, n: int) -> Response:
    """A published comment's photo as JPEG (404 while it is pending or hidden)."""
    data = _service().public_photo(map_id, comment_id, n)
    return photo_response(data, f"{comment_id}-{n}.jpg", cache="no-cache")


@staff.get("/comments/<comment_id>/photos/<int:n>")
@accepts()
def staff_photo(comment_id: str, n: int) -> Response:
    """Any comment's photo, whatever its status, for moderation."""
    comment, data = _service().staff_photo(comment_id, n)
    return photo_response(data, f"{comment.id}-{n}.jpg", cache="private, no-store")


@public.route("/maps/<map_id>/comments", methods=["OPTIONS"])
def comments_preflight(map_id: str) -> Response:
    """CORS preflight: pages on the map's own origins may post from the browser."""
    definition = _service().maps.get(map_id)
    settings = current().settings
    response = Response(status=204)
    del response.headers["Content-Type"]
    response.headers["Allow"] = "GET, POST, OPTIONS"
    origin = request.headers.get("Origin", "")
    if origin in (*definition.origins, *settings.embed_origins):
        response.headers.update({
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S)})
    response.vary.add("Origin")
    return response


def _statuses(value: str | None) -> tuple[str, ...]:
    if not value:
        return STATUSES
    wanted = tuple(s.strip() for s in value.split(",") if s.strip())
    bad = [s for s in wanted if s not in STATUSES]
    if bad or not wanted:
        raise InvalidParameter("status", f"status is one or more of {', '.join(STATUSES)} "
                                         "separated by commas")
    return wanted


def _delimiter(value: str | None, language: str) -> str:
    if not value:
        return default_delimiter(language)
    if value not in DELIMITERS:
        raise InvalidParameter("delimiter", "delimiter is semicolon or comma")
    return DELIMITERS[value]


@staff.get("/maps/<map_id>/comments")
@accepts("format", "delimiter", "lang", "status")
def export_comments(map_id: str) -> Response:
    """Every comment with personal data: ``format=geojson`` (default), ``csv``, ``gpkg`` or
    ``zip`` (the GeoJSON, the CSV and the photos), as a download. A CSV is separated by
    ``delimiter=semicolon|comma`` (default: a semicolon where the map's first language, or
    ``lang``, is Finnish or Swedish, as their Excel expects)."""
    fmt = request.args.get("format", "geojson")
    if fmt not in FORMATS:
        raise InvalidParameter("format", f"format is one of {', '.join(FORMATS)}, not {fmt!r}")
    service = _service()
    definition = service.maps.get(map_id)
    delimiter = _delimiter(request.args.get("delimiter"),
                           request.args.get("lang") or definition.default_language)
    comments = service.for_staff(map_id, statuses=_statuses(request.args.get("status")))
    download = {"Content-Disposition": f'attachment; filename="{map_id}-comments.{fmt}"'}
    if fmt == "geojson":
        return Response(feature_collection(comments, personal=True, base=base_url()),
                        mimetype=FORMATS[fmt],
                        headers={**NO_STORE, **download})
    if fmt == "csv":
        return Response(csv_bytes(comments, delimiter=delimiter), content_type=FORMATS[fmt],
                        headers={**NO_STORE, **download})
    settings = current().settings
    (settings.data_dir / "tmp").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="comments-", dir=settings.data_dir / "tmp"))
    try:
        target = scratch / f"comments.{fmt}"
        if fmt == "zip":
            write_zip(comments, target, name=f"{map_id}-comments", delimiter=delimiter,
                      photo=lambda comment_id, n: service.staff_photo(comment_id, n)[1])
        else:
            write_gpkg(comments, target)
        handle = target.open("rb")  # still readable after its folder is gone
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    response = send_file(handle, mimetype=FORMATS[fmt], as_attachment=True,
                         download_name=f"{map_id}-comments.{fmt}", max_age=0)
    response.headers["Cache-Control"] = NO_STORE["Cache-Control"]
    return response


@staff.patch("/comments/<comment_id>")
@accepts()
def moderate_comment(comment_id: str) -> Response:
    """Moderate and answer a comment: any of ``status`` (``published``, ``hidden``,
    ``pending``), ``response`` (text; null clears), ``themes`` (list of texts) and
    ``changed_plan`` (true/false). A response stays a draft until the map's responses are
    published."""
    data = _json_object()
    allowed = {"status", *RESPONSE_FIELDS}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise Unprocessable(unknown[0], f"unknown member {unknown[0]!r}; send "
                                        f"{', '.join(sorted(allowed))}")
    if not data:
        raise Unprocessable("status", f"send one or more of {', '.join(sorted(allowed))}")
    service = _service()
    answer = {k: v for k, v in data.items() if k in RESPONSE_FIELDS}
    comment = service.respond(comment_id, answer) if answer else None
    if "status" in data:
        comment = service.moderate(comment_id, data["status"])
    if comment is None:  # only status and response members reach here
        comment = service.storage.get(comment_id)
    return json_response(comment.staff_properties(), headers=NO_STORE)


def _responses_state(map_id: str) -> dict[str, Any]:
    service = _service()
    publication = service.storage.publication(map_id)
    messages = {m.comment_id: m for m in service.storage.messages(map_id)}
    comments = service.for_staff(map_id)
    asked = [c for c in comments if c.notify]
    return {
        "map": map_id,
        "published": None if publication is None else publication.published,
        "responses": {
            "written": sum(1 for c in comments if c.response),
            "published": sum(1 for c in comments if c.published_response
                             and c.status == "published"),
            "draft_changes": sum(1 for c in comments if c.response != c.published_response),
        },
        "themes": service.themes(map_id),
        "mail": {"configured": bool(current().settings.smtp_url)},
        "subscribers": [{
            "comment": c.id, "email": c.email, "language": c.language,
            "queued": c.id in messages,
            "sent": messages[c.id].sent if c.id in messages else None,
            "error": messages[c.id].last_error if c.id in messages else None,
        } for c in asked],
    }


@staff.get("/maps/<map_id>/responses")
@accepts()
def responses_state(map_id: str) -> Response:
    """Where a map's responses stand: written, published, themes, who asked to be told."""
    _service().maps.get(map_id)
    return json_response(_responses_state(map_id), headers=NO_STORE)


@staff.put("/maps/<map_id>/themes/<path:theme>/response")
@accepts()
def theme_response(map_id: str, theme: str) -> Response:
    """One response for every comment tagged ``theme``: ``{"response": "…"}``."""
    data = _json_object()
    unknown = sorted(set(data) - {"response"})
    if unknown or "response" not in data:
        raise Unprocessable(unknown[0] if unknown else "response",
                            "send {\"response\": \"…\"} (null clears it)")
    changed = _service().respond_to_theme(map_id, theme, data["response"])
    return json_response({"theme": theme, "comments": changed}, headers=NO_STORE)


@staff.post("/maps/<map_id>/responses/publish")
@accepts()
def publish_responses(map_id: str) -> Response:
    """Publish the map's written responses; residents who asked are told by e-mail (queued
    now, sent at once when ``WEBMAP_SMTP_URL`` is set, else by ``webmap comments notify``)."""
    service = _service()
    service.maps.get(map_id)
    publication = service.publish_responses(map_id, link=f"{base_url()}/maps/{map_id}")
    settings = current().settings
    if settings.smtp_url and publication.queued:
        start_sender(service.storage, settings)
    return json_response({"map": map_id, "published": publication.published,
                          "responses": publication.responses, "queued": publication.queued,
                          "mail": bool(settings.smtp_url)}, headers=NO_STORE)


def _too_many_requests(exc: RateLimitExceeded) -> Response:
    """A 429 problem with ``Retry-After`` in seconds, from the limit that was hit."""
    limiter = current().limits.comment_posts  # registered only when posts are limited
    window_s = exc.limit.limit.get_expiry()
    retry_after_s = window_s
    try:
        hit = limiter.current_limit if limiter is not None else None
        if hit is not None:
            reset_at = hit.window[0]  # when the oldest counted post leaves the window
            retry_after_s = min(window_s, max(1, math.ceil(reset_at - time.time())))
    except (StorageError, RedisError, OSError) as error:
        # The limit's own window is a safe answer when the shared store stops answering.
        logging.getLogger("webmap.comments").warning("rate-limit window unknown: %s",
                                                     type(error).__name__)
    problem = TooManyRequests(f"too many comments from your address (at most "
                              f"{exc.limit.limit}); try again in {retry_after_s} s",
                              retry_after_s=retry_after_s)
    return Response(orjson.dumps(problem.body()), status=problem.status,
                    mimetype=PROBLEM_MEDIA_TYPE, headers=problem.headers)


def _init_limiter(app: Flask, limits: RateLimits) -> None:
    """Limit posts per client address with the services' limiter (none: not limited)."""
    limiter = limits.comment_posts
    if limiter is None:
        return
    limiter.limit(limits.settings.comment_rate_limit, methods=["POST"])(public)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def init_app(app: Flask, limits: RateLimits) -> None:
    """The rate limiter on comment posts, and the routes."""
    _init_limiter(app, limits)
    app.register_blueprint(public)
    app.register_blueprint(staff)

"""Staff sign-in for the HTML pages: the secret key, the session cookie, CSRF and failed tries.

The session is Flask's signed cookie, limited to ``/admin``, HttpOnly, SameSite=Strict and
Secure on HTTPS. It names the token (name and creation time), never holds the token itself,
and is refused once the token is revoked or the sign-in is older than the configured hours.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf, validate_csrf
from limits import RateLimitItemPerMinute, strategies
from limits.errors import StorageError
from redis.exceptions import RedisError
from wtforms import ValidationError

from ..auth import session_staff, session_values
from ..database import PRIVATE_FILE_MODE
from ..problems import Problem
from ..services import current
from ..settings import Settings
from .language import SESSION_KEY as LANGUAGE_KEY
from .language import kept_language, tr

log = logging.getLogger("webmap.admin")
KEY_FILE_NAME = "secret_key"
SIGN_IN_FAILURES = RateLimitItemPerMinute(10, 5)
"""Failed sign-ins one client address may make in five minutes."""
LIMITER_ERRORS = (StorageError, RedisError, OSError)
"""``app.extensions`` key: the shared failed-sign-in limiter, then the per-process fallback
(web-tier state, not a service)."""


def secret_key(settings: Settings) -> str:
    """``WEBMAP_SECRET_KEY``, else a random key made once and kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several workers start at once, one writes and the others read it.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48))
    log.warning("made a new secret key in %s; set WEBMAP_SECRET_KEY to share one between "
                "hosts", path)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    for _ in range(50):  # another worker may be between creating and writing the file
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        time.sleep(0.02)
    raise SystemExit(f"{path} is empty; delete it or set WEBMAP_SECRET_KEY")


class StaffSessionInterface(SecureCookieSessionInterface):
    """The signed cookie, sent only to ``/admin`` and marked Secure whenever the request is."""

    def get_cookie_path(self, app: Flask) -> str:
        """Only the staff pages need the cookie."""
        return request.script_root + "/admin"

    def get_cookie_secure(self, app: Flask) -> bool:
        """HTTPS as seen through ``WEBMAP_PROXY_HOPS`` proxies."""
        return request.is_secure


def init_session(app: Flask, settings: Settings) -> None:
    """Secret key, cookie flags and lifetime of the staff session."""
    app.secret_key = secret_key(settings)
    lifetime = timedelta(hours=settings.staff_session_hours)
    app.config.update(
        SESSION_COOKIE_NAME="webmap_staff", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict", PERMANENT_SESSION_LIFETIME=lifetime,
        SESSION_REFRESH_EACH_REQUEST=False,
        # a form stays usable as long as the sign-in it was made in
        WTF_CSRF_TIME_LIMIT=int(lifetime.total_seconds()))
    app.session_interface = StaffSessionInterface()


def _lifetime_s() -> float:
    lifetime: timedelta = current_app.config["PERMANENT_SESSION_LIFETIME"]
    return lifetime.total_seconds()


def sign_in(token: str) -> str | None:
    """Start a session for an active token; its name, or None for a wrong or revoked one."""
    values = session_values(current().tokens, token)
    if values is None:
        return None
    lang = kept_language()
    session.clear()  # a new session for the new privilege: nothing carried over but the language
    session.permanent = True
    session.update(values)
    if lang:
        session[LANGUAGE_KEY] = lang
    log.info("staff %s signed in", values["staff"])
    return str(values["staff"])


def sign_out() -> None:
    """End the session on the server (a copied cookie stops working too), then forget it."""
    session_id = session.get("session_id")
    started = session.get("signed_in")
    if isinstance(session_id, str) and isinstance(started, int | float):
        current().tokens.end_session(session_id, started + _lifetime_s())
    lang = kept_language()
    session.clear()
    if lang:
        session[LANGUAGE_KEY] = lang


def staff_name() -> str | None:
    """The signed-in staff member, if the session is young enough and the token still active."""
    return session_staff(session, current().tokens, lifetime_s=_lifetime_s())


class CsrfFailed(Problem):
    """A form post without a valid CSRF token: nothing was done."""

    status = 400
    title = "Form expired"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, title=tr("title.form_expired"))


def csrf_token() -> str:
    """The token for this session's forms."""
    token: str = generate_csrf()
    return token


def check_csrf() -> None:
    """Refuse a post whose CSRF token is missing or wrong, or that comes from another site."""
    origin = request.headers.get("Origin")
    if origin and origin != request.host_url.rstrip("/"):
        raise CsrfFailed(tr("problem.other_site"))
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        raise CsrfFailed(tr("problem.csrf")) from None


def _limiter_hit(method: str) -> bool:
    """Ask the shared limiter; the per-process one when it does not answer."""
    address = request.remote_addr or "unknown"
    limiter: strategies.RateLimiter
    for limiter in current().limits.sign_in:
        try:
            return bool(getattr(limiter, method)(SIGN_IN_FAILURES, "webmap-sign-in", address))
        except LIMITER_ERRORS as exc:
            log.warning("sign-in limiter unavailable: %s", type(exc).__name__)
    return True


def sign_in_allowed() -> bool:
    """Whether this address has failed fewer sign-ins than the limit lately."""
    return _limiter_hit("test")


def count_failed_sign_in() -> None:
    """Count a wrong token against the client's address."""
    _limiter_hit("hit")


def retry_after_s() -> int:
    """Seconds until the client's oldest counted failure leaves the window."""
    address = request.remote_addr or "unknown"
    limiter: strategies.RateLimiter
    for limiter in current().limits.sign_in:
        try:
            reset_at, _ = limiter.get_window_stats(SIGN_IN_FAILURES, "webmap-sign-in", address)
        except LIMITER_ERRORS:
            continue
        return max(1, int(reset_at - time.time()))
    return int(SIGN_IN_FAILURES.get_expiry())

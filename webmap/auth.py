"""Staff authentication: the token repository, and the bearer and session checks every staff
route uses (the staff API, comment moderation and export, the staff pages).

Tokens are shown once at creation and stored only as SHA-256 hashes in ``webmap_tokens``;
revoked ones stay for the audit trail. A session names its token (name and creation time),
never holds the token itself, and ends when the token is revoked or the sign-in grows old.
No Flask here: the web layer hands in the header or the session's values.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .database import Database, time_text
from .problems import Conflict, NotFound, Problem

TABLE = "webmap_tokens"
ENDED = "webmap_ended_sessions"
SESSION_ID_BYTES = 18
TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 256
NAME_RE = re.compile(r"^[^\W_][\w .,@'()&+-]{0,63}$")
"""A token is named after a person or a team: letters (any alphabet), digits, spaces and
``. , @ ' ( ) & + - _``, starting with a letter or digit; at most 64 characters."""


class Unauthorized(Problem):
    """No valid staff token."""

    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="webmap staff"'})


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the secret itself."""

    name: str
    created: str
    revoked: str | None


def _hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenRepository:
    """Token records over the database; every worker and host accepts the same tokens."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(self, name: str) -> str:
        """A new token for ``name``; the only time the secret is ever shown."""
        if not NAME_RE.match(name):
            raise Problem("a token name is 1-64 letters, digits, spaces or . , @ ' ( ) & + - _ "
                          "and starts with a letter or digit, e.g. \"Anna, kaavoitus\"")
        db = self.database
        token = secrets.token_urlsafe(TOKEN_BYTES)
        try:
            with db.transaction(write=True) as conn:
                conn.execute(db.sql(f"INSERT INTO {TABLE} (name, token_hash, created) "  # noqa: S608
                                    "VALUES (?, ?, ?)"),
                             (name, _hash(token), db.stamp(datetime.now(UTC), timespec="seconds")))
        except db.integrity_errors:
            raise Conflict(f"a token named {name!r} exists; revoke it or pick another name"
                           ) from None
        return token

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones too, by name."""
        with self.database.transaction() as conn:
            rows = conn.execute(f"SELECT name, created, revoked FROM {TABLE} "  # noqa: S608
                                "ORDER BY name").fetchall()
        return [TokenInfo(str(name), time_text(created, timespec="seconds"),
                          None if revoked is None else time_text(revoked, timespec="seconds"))
                for name, created, revoked in rows]

    def revoke(self, name: str) -> None:
        """Stop a token from working; the record stays for the audit trail."""
        db = self.database
        with db.transaction(write=True) as conn:
            changed = conn.execute(db.sql(f"UPDATE {TABLE} SET revoked = ? WHERE name = ? "  # noqa: S608
                                          "AND revoked IS NULL"),
                                   (db.stamp(datetime.now(UTC), timespec="seconds"),
                                    name)).rowcount
        if not changed:
            raise NotFound(f"there is no active token named {name!r}")

    def verify(self, token: str) -> str | None:
        """The name of the active token, or None."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        db = self.database
        with db.transaction() as conn:
            row = conn.execute(db.sql(f"SELECT name FROM {TABLE} WHERE token_hash = ? AND "  # noqa: S608
                                      "revoked IS NULL"), (_hash(token),)).fetchone()
        return None if row is None else str(row[0])

    def active(self, name: str, created: str) -> bool:
        """Whether the token ``name`` made at ``created`` is still active."""
        return any(t.name == name and t.created == created and t.revoked is None
                   for t in self.list())

    def end_session(self, session_id: str, expires: float) -> None:
        """Refuse the session ``session_id`` from now on, everywhere, until ``expires`` (epoch
        seconds, when its cookie runs out anyway); rows past their expiry are removed."""
        db = self.database
        with db.transaction(write=True) as conn:
            conn.execute(db.sql(f"DELETE FROM {ENDED} WHERE expires < ?"),  # noqa: S608
                         (time.time(),))
            conn.execute(db.sql(f"INSERT INTO {ENDED} (session_id, expires) VALUES (?, ?) "  # noqa: S608
                                "ON CONFLICT (session_id) DO NOTHING"), (session_id, expires))

    def session_ended(self, session_id: str) -> bool:
        """Whether the session ``session_id`` was signed out."""
        db = self.database
        with db.transaction() as conn:
            row = conn.execute(db.sql(f"SELECT 1 FROM {ENDED} WHERE session_id = ?"),  # noqa: S608
                               (session_id,)).fetchone()
        return row is not None

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the records cannot be read."""
        self.database.check_table(TABLE)


def bearer_staff(header: str, tokens: TokenRepository) -> str:
    """The staff name behind ``Authorization: Bearer <token>``; ``Unauthorized`` otherwise."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send a staff token: Authorization: Bearer <token> "
                           "(create one with `webmap tokens create NAME`)")
    name = tokens.verify(token.strip())
    if name is None:
        raise Unauthorized("the staff token is not valid or has been revoked")
    return name


def session_values(tokens: TokenRepository, token: str) -> dict[str, Any] | None:
    """What a new session records for an active token (its name and creation time), or None
    for a wrong or revoked one."""
    name = tokens.verify(token.strip())
    if name is None:
        return None
    created = next(t.created for t in tokens.list() if t.name == name)
    return {"staff": name, "token_created": created, "signed_in": time.time(),
            "session_id": secrets.token_urlsafe(SESSION_ID_BYTES)}


def session_staff(values: Mapping[str, Any], tokens: TokenRepository, *, lifetime_s: float
                  ) -> str | None:
    """The signed-in staff member of a session, if it is young enough and its token active."""
    name = values.get("staff")
    started = values.get("signed_in")
    created = values.get("token_created")
    if not isinstance(name, str) or not isinstance(started, int | float):
        return None
    if time.time() - started > lifetime_s or not isinstance(created, str):
        return None
    session_id = values.get("session_id")
    if not isinstance(session_id, str) or tokens.session_ended(session_id):
        return None  # signed out: a copy of the cookie is refused too
    return name if tokens.active(name, created) else None

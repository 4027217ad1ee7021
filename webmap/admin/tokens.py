"""Staff tokens: shown once at creation, stored only as SHA-256 hashes, revocable by name."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..problems import Conflict, NotFound, Problem

TOKEN_BYTES = 32
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    revoked TEXT
);
"""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the secret itself."""

    name: str
    created: str
    revoked: str | None


def _hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    """Token records in ``staff.sqlite`` in the data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.executescript(SCHEMA)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def create(self, name: str) -> str:
        """A new token for ``name``; the only time the secret is ever shown."""
        if not NAME_RE.match(name):
            raise Problem("a token name is 1-64 letters, digits, spaces or . _ @ -")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn = self._connect()
        try:
            conn.execute("INSERT INTO staff_tokens (name, token_hash, created) VALUES (?, ?, ?)",
                         (name, _hash(token), now))
        except sqlite3.IntegrityError:
            raise Conflict(f"a token named {name!r} exists; revoke it or pick another name"
                           ) from None
        finally:
            conn.close()
        return token

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones too, by name."""
        conn = self._connect()
        try:
            rows = conn.execute("SELECT name, created, revoked FROM staff_tokens ORDER BY name")
            return [TokenInfo(*row) for row in rows.fetchall()]
        finally:
            conn.close()

    def revoke(self, name: str) -> None:
        """Stop a token from working; the record stays for the audit trail."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn = self._connect()
        try:
            changed = conn.execute("UPDATE staff_tokens SET revoked = ? WHERE name = ? AND "
                                   "revoked IS NULL", (now, name)).rowcount
        finally:
            conn.close()
        if not changed:
            raise NotFound(f"there is no active token named {name!r}")

    def verify(self, token: str) -> str | None:
        """The name of the active token, or None."""
        if not token or len(token) > 256:
            return None
        conn = self._connect()
        try:
            row = conn.execute("SELECT name FROM staff_tokens WHERE token_hash = ? AND "
                               "revoked IS NULL", (_hash(token),)).fetchone()
        finally:
            conn.close()
        return None if row is None else str(row[0])

"""Where comments live: ``webmap_comments`` in the one database.

PostgreSQL adds a generated PostGIS column ``geom`` for QGIS. ``UNIQUE (map_id,
idempotency_key)`` is what makes a retried submission land once, however many workers or hosts
race: the insert says ``ON CONFLICT DO NOTHING`` and the loser reads the winner's row in the
same transaction.
"""

from __future__ import annotations

import builtins
import logging
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..database import Database, SqliteDatabase, time_text
from ..problems import NotFound, ServiceUnavailable
from .photos import Photo, PhotoInfo
from .service import (
    RESPONSE_COLUMNS,
    SNAPSHOT_COLUMNS,
    STATUSES,
    Comment,
    CommentNotFound,
    Message,
    Publication,
    PurgeReport,
    Submission,
    new_comment_id,
)

log = logging.getLogger("webmap.comments")

TABLE = "webmap_comments"
COLUMNS = ("id", "map_id", "created", "status", "text", "language", "geometry",
           "feature_collection", "feature_id", "name", "email", "idempotency_key",
           *SNAPSHOT_COLUMNS, *RESPONSE_COLUMNS)
SELECT = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"  # noqa: S608 - constant names
INSERT = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608 - constant names
          f"VALUES ({', '.join('?' * len(COLUMNS))}) "
          "ON CONFLICT (map_id, idempotency_key) DO NOTHING RETURNING id")
ID_ATTEMPTS = 5
"""New ids to try when a random id is taken (about 1 in 10^14 per comment)."""
RETRY_AFTER = {"Retry-After": "5"}
PURGE_WHERE = "WHERE map_id = ? AND (name IS NOT NULL OR email IS NOT NULL)"
RESTORE = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608 - constant names
           f"VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT DO NOTHING")


PHOTOS = "webmap_comment_photos"
PHOTO_COLUMNS = ("comment_id", "n", "alt", "width", "height", "size")
PHOTO_SELECT = f"SELECT {', '.join(PHOTO_COLUMNS)} FROM {PHOTOS}"  # noqa: S608 - constant names
PHOTO_INSERT = (f"INSERT INTO {PHOTOS} (comment_id, n, alt, width, height, size, data) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?)")
OF_MAP = f"comment_id IN (SELECT id FROM {TABLE} WHERE map_id = ?)"  # noqa: S608

MAIL = "webmap_mail_queue"
MAIL_COLUMNS = ("comment_id", "map_id", "recipient", "language", "subject", "body", "queued",
                "sent", "attempts", "last_error")
MAIL_SELECT = f"SELECT {', '.join(MAIL_COLUMNS)} FROM {MAIL}"  # noqa: S608 - constant names
PUBLICATIONS = "webmap_response_publications"
TO_TELL = (f"{SELECT} WHERE map_id = ? AND notify = ? AND email IS NOT NULL "  # noqa: S608
           "AND published_response IS NOT NULL AND status = 'published' "
           f"AND id NOT IN (SELECT comment_id FROM {MAIL})")
"""Published comments with a published response whose resident asked to be told and has no
message yet."""
SENDER_LOCK = zlib.crc32(b"webmap mail sender")
"""The PostgreSQL advisory lock one mail sender holds at a time."""


def _comment(row: Sequence[Any]) -> Comment:
    values = dict(zip(COLUMNS, row, strict=True))
    values["created"] = time_text(values["created"])
    if values["responded"] is not None:
        values["responded"] = time_text(values["responded"])
    values["changed_plan"] = bool(values["changed_plan"])
    values["notify"] = bool(values["notify"])
    return Comment(**values)


def _message(row: Sequence[Any]) -> Message:
    values = dict(zip(MAIL_COLUMNS, row, strict=True))
    values["queued"] = time_text(values["queued"])
    if values["sent"] is not None:
        values["sent"] = time_text(values["sent"])
    return Message(**values)


def _photo(row: Sequence[Any]) -> tuple[str, PhotoInfo]:
    comment_id, n, alt, width, height, size = row
    return str(comment_id), PhotoInfo(n=int(n), alt=str(alt), width=int(width),
                                      height=int(height), size=int(size))


class CommentRepository:
    """Comments over the database; one short transaction per call."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _with_photos(self, conn: Any, comments: builtins.list[Comment], *,
                     map_id: str | None = None) -> builtins.list[Comment]:
        """The comments with their photos listed (one query: the map's, or the one's)."""
        if not comments:
            return comments
        if map_id is not None:
            rows = conn.execute(self._sql(f"{PHOTO_SELECT} WHERE {OF_MAP} ORDER BY comment_id, n"),
                                (map_id,)).fetchall()
        else:
            marks = ", ".join("?" * len(comments))
            rows = conn.execute(self._sql(f"{PHOTO_SELECT} WHERE comment_id IN ({marks}) "
                                          "ORDER BY comment_id, n"),
                                tuple(c.id for c in comments)).fetchall()
        found: dict[str, builtins.list[PhotoInfo]] = {}
        for comment_id, info in map(_photo, rows):
            found.setdefault(comment_id, []).append(info)
        return [replace(c, photos=tuple(found[c.id])) if c.id in found else c
                for c in comments]

    def _one(self, conn: Any, row: Sequence[Any]) -> Comment:
        return self._with_photos(conn, [_comment(row)])[0]

    def _sql(self, query: str) -> str:
        return self.database.sql(query)

    def _created(self, moment: datetime) -> Any:
        return self.database.stamp(moment)

    def add(self, submission: Submission) -> tuple[Comment, bool]:
        """Insert, or return the row already stored under the map's idempotency key."""
        for _ in range(ID_ATTEMPTS):
            comment_id = new_comment_id()
            values = (comment_id, submission.map_id, self._created(datetime.now(UTC)),
                      "pending", submission.text, submission.language, submission.geometry,
                      submission.feature_collection, submission.feature_id, submission.name,
                      submission.email, submission.idempotency_key,
                      *submission.snapshot_values(), "[]", None, False, None, None,
                      submission.notify)
            try:
                with self.database.transaction(write=True) as conn:
                    inserted = conn.execute(self._sql(INSERT), values).fetchone()
                    if inserted is None:
                        row = conn.execute(self._sql(f"{SELECT} WHERE map_id = ? AND "
                                                     "idempotency_key = ?"),
                                           (submission.map_id,
                                            submission.idempotency_key)).fetchone()
                        return self._one(conn, row), False
                    for n, photo in enumerate(submission.photos, start=1):
                        conn.execute(self._sql(PHOTO_INSERT), (
                            comment_id, n, photo.alt, photo.width, photo.height,
                            len(photo.data), photo.data))
                    row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"),
                                       (comment_id,)).fetchone()
                    return self._one(conn, row), True
            except self.database.integrity_errors:
                continue  # the random id was taken: draw another
        raise ServiceUnavailable("no free comment id was found; try again",
                                 headers=dict(RETRY_AFTER))

    def by_key(self, map_id: str, idempotency_key: str) -> Comment | None:
        """The comment stored under this map's key, if any."""
        with self.database.transaction() as conn:
            row = conn.execute(self._sql(f"{SELECT} WHERE map_id = ? AND idempotency_key = ?"),
                               (map_id, idempotency_key)).fetchone()
            return None if row is None else self._one(conn, row)

    def get(self, comment_id: str) -> Comment:
        """One comment; raises ``CommentNotFound``."""
        with self.database.transaction() as conn:
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (comment_id,)).fetchone()
            if row is None:
                raise CommentNotFound(comment_id)
            return self._one(conn, row)

    def list(self, map_id: str, *, statuses: Sequence[str] = STATUSES) -> list[Comment]:
        """A map's comments with these statuses, oldest first."""
        wanted = [s for s in STATUSES if s in statuses]
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        query = f"{SELECT} WHERE map_id = ? AND status IN ({marks}) ORDER BY created, id"
        with self.database.transaction() as conn:
            rows = conn.execute(self._sql(query), (map_id, *wanted)).fetchall()
            return self._with_photos(conn, [_comment(row) for row in rows], map_id=map_id)

    def set_status(self, comment_id: str, status: str) -> Comment:
        """Moderate a comment; raises ``CommentNotFound``."""
        with self.database.transaction(write=True) as conn:
            changed = conn.execute(self._sql(f"UPDATE {TABLE} SET status = ? WHERE id = ?"),  # noqa: S608
                                   (status, comment_id)).rowcount
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (comment_id,)).fetchone()
            if not changed or row is None:
                raise CommentNotFound(comment_id)
            return self._one(conn, row)

    def purge_personal_data(self, map_id: str) -> PurgeReport:
        """Blank every name and e-mail of a map's comments and delete their photos (people
        and homes may be seen in them), in one transaction."""
        with self.database.transaction(write=True) as conn:
            comments, names, emails = conn.execute(
                self._sql(f"SELECT COUNT(*), COUNT(name), COUNT(email) FROM {TABLE} "  # noqa: S608
                          f"{PURGE_WHERE}"), (map_id,)).fetchone()
            photos = conn.execute(self._sql(f"DELETE FROM {PHOTOS} WHERE {OF_MAP}"),  # noqa: S608
                                  (map_id,)).rowcount
            conn.execute(self._sql(f"UPDATE {TABLE} SET name = NULL, email = NULL, "  # noqa: S608
                                   f"notify = ? {PURGE_WHERE}"), (False, map_id))
            # the mail queue holds addresses too: sent ones are blanked, unsent ones dropped
            conn.execute(self._sql(f"UPDATE {MAIL} SET recipient = NULL "  # noqa: S608
                                   "WHERE map_id = ? AND sent IS NOT NULL"), (map_id,))
            conn.execute(self._sql(f"DELETE FROM {MAIL} WHERE map_id = ? "  # noqa: S608
                                   "AND sent IS NULL"), (map_id,))
        if isinstance(self.database, SqliteDatabase):
            self.database.checkpoint()  # no old copy of a purged value stays in the WAL
        return PurgeReport(int(comments), int(names), int(emails), int(photos))

    def photo(self, comment_id: str, n: int) -> tuple[Comment, bytes]:
        """The comment and the JPEG of its photo ``n``; raises ``NotFound``."""
        with self.database.transaction() as conn:
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (comment_id,)).fetchone()
            if row is None:
                raise CommentNotFound(comment_id)
            found = conn.execute(self._sql(f"SELECT data FROM {PHOTOS} "  # noqa: S608
                                           "WHERE comment_id = ? AND n = ?"),
                                 (comment_id, n)).fetchone()
            if found is None:
                raise NotFound(f"comment {comment_id!r} has no photo {n}")
            return self._one(conn, row), bytes(found[0])

    def map_ids(self) -> tuple[str, ...]:
        """Every map that has stored comments, by id (maps taken down too)."""
        with self.database.transaction() as conn:
            rows = conn.execute(f"SELECT DISTINCT map_id FROM {TABLE} ORDER BY map_id"  # noqa: S608
                                ).fetchall()
        return tuple(str(row[0]) for row in rows)

    def restore(self, comments: Sequence[Comment]) -> int:
        """Insert comments as they were (ids, times, statuses, personal data) in one
        transaction; those whose id or key is already stored are skipped. Returns how many
        were added."""
        added = 0
        with self.database.transaction(write=True) as conn:
            for c in comments:
                added += conn.execute(self._sql(RESTORE), (
                    c.id, c.map_id, self._created(datetime.fromisoformat(c.created)), c.status,
                    c.text, c.language, c.geometry, c.feature_collection, c.feature_id, c.name,
                    c.email, c.idempotency_key,
                    *(getattr(c, column) for column in SNAPSHOT_COLUMNS),
                    c.themes or "[]", c.response, bool(c.changed_plan),
                    None if c.responded is None
                    else self._created(datetime.fromisoformat(c.responded)),
                    c.published_response, bool(c.notify))).rowcount
        return added

    def restore_photos(self, photos: Sequence[tuple[str, int, Photo]]) -> int:
        """Insert photos of restored comments as they were, in one transaction; those already
        stored are skipped. Returns how many were added."""
        added = 0
        with self.database.transaction(write=True) as conn:
            for comment_id, n, photo in photos:
                added += conn.execute(self._sql(f"{PHOTO_INSERT} ON CONFLICT DO NOTHING"), (
                    comment_id, n, photo.alt, photo.width, photo.height, len(photo.data),
                    photo.data)).rowcount
        return added

    # -- responses ---------------------------------------------------------------------------

    def respond(self, comment_id: str, changes: Mapping[str, Any]) -> Comment:
        """Set some of themes, response and changed_plan; raises ``CommentNotFound``."""
        names = [n for n in ("themes", "response", "changed_plan") if n in changes]
        assignments = ", ".join(f"{n} = ?" for n in names)
        values = [changes[n] for n in names]
        with self.database.transaction(write=True) as conn:
            changed = conn.execute(self._sql(
                f"UPDATE {TABLE} SET {assignments}, responded = ? WHERE id = ?"),  # noqa: S608
                (*values, self._created(datetime.now(UTC)), comment_id)).rowcount
            row = conn.execute(self._sql(f"{SELECT} WHERE id = ?"), (comment_id,)).fetchone()
            if not changed or row is None:
                raise CommentNotFound(comment_id)
            return self._one(conn, row)

    def set_theme_response(self, map_id: str, theme: str, response: str | None) -> int:
        """Give every comment of the map tagged ``theme`` (case-insensitive) the response."""
        changed = 0
        now = self._created(datetime.now(UTC))
        with self.database.transaction(write=True) as conn:
            rows = conn.execute(self._sql(f"{SELECT} WHERE map_id = ?"), (map_id,)).fetchall()
            for comment in map(_comment, rows):
                if theme.casefold() in (t.casefold() for t in comment.theme_list()):
                    changed += conn.execute(self._sql(
                        f"UPDATE {TABLE} SET response = ?, responded = ? "  # noqa: S608
                        "WHERE id = ?"), (response, now, comment.id)).rowcount
        return changed

    def publish_responses(self, map_id: str,
                          compose: Callable[[Comment], tuple[str, str]]) -> Publication:
        """Copy each written response to its public column and queue the messages, in one
        transaction: the responses and the promise to tell are never apart."""
        now = datetime.now(UTC)
        stamp = self._created(now)
        queued = 0
        with self.database.transaction(write=True) as conn:
            conn.execute(self._sql(f"UPDATE {TABLE} SET published_response = response "  # noqa: S608
                                   "WHERE map_id = ?"), (map_id,))
            responses = conn.execute(self._sql(
                f"SELECT COUNT(*) FROM {TABLE} WHERE map_id = ? "  # noqa: S608
                "AND published_response IS NOT NULL AND status = 'published'"),
                (map_id,)).fetchone()[0]
            rows = conn.execute(self._sql(TO_TELL), (map_id, True)).fetchall()
            for comment in map(_comment, rows):
                subject, body = compose(comment)
                queued += conn.execute(self._sql(
                    f"INSERT INTO {MAIL} (comment_id, map_id, recipient, language, subject, "  # noqa: S608
                    "body, queued) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                    (comment.id, map_id, comment.email, comment.language, subject, body,
                     stamp)).rowcount
            conn.execute(self._sql(
                f"INSERT INTO {PUBLICATIONS} (map_id, published, responses) "  # noqa: S608
                "VALUES (?, ?, ?) ON CONFLICT (map_id) DO UPDATE SET "
                "published = excluded.published, responses = excluded.responses"),
                (map_id, stamp, int(responses)))
        return Publication(map_id, time_text(stamp), int(responses), queued)

    def publication(self, map_id: str) -> Publication | None:
        """When the map's responses were last published (None: never)."""
        with self.database.transaction() as conn:
            row = conn.execute(self._sql(
                f"SELECT published, responses FROM {PUBLICATIONS} WHERE map_id = ?"),  # noqa: S608
                (map_id,)).fetchone()
            if row is None:
                return None
            queued = conn.execute(self._sql(f"SELECT COUNT(*) FROM {MAIL} "  # noqa: S608
                                            "WHERE map_id = ?"), (map_id,)).fetchone()[0]
        return Publication(map_id, time_text(row[0]), int(row[1]), int(queued))

    # -- the mail queue ------------------------------------------------------------------------

    def unsent(self, *, limit: int = 100) -> builtins.list[Message]:
        """Queued messages with an address and no sent mark, oldest first."""
        with self.database.transaction() as conn:
            rows = conn.execute(self._sql(
                f"{MAIL_SELECT} WHERE sent IS NULL AND recipient IS NOT NULL "
                "ORDER BY queued, comment_id LIMIT ?"), (limit,)).fetchall()
        return [_message(row) for row in rows]

    def mark_sent(self, comment_id: str) -> None:
        """The SMTP server accepted the message: never send it again."""
        with self.database.transaction(write=True) as conn:
            conn.execute(self._sql(f"UPDATE {MAIL} SET sent = ?, attempts = attempts + 1, "  # noqa: S608
                                   "last_error = NULL WHERE comment_id = ?"),
                         (self._created(datetime.now(UTC)), comment_id))

    def mark_failed(self, comment_id: str, error: str) -> None:
        """A failed attempt: the message stays queued for the next round."""
        with self.database.transaction(write=True) as conn:
            conn.execute(self._sql(f"UPDATE {MAIL} SET attempts = attempts + 1, "  # noqa: S608
                                   "last_error = ? WHERE comment_id = ?"),
                         (error[:500], comment_id))

    def messages(self, map_id: str) -> builtins.list[Message]:
        """Every message of a map, queued or sent."""
        with self.database.transaction() as conn:
            rows = conn.execute(self._sql(f"{MAIL_SELECT} WHERE map_id = ? "
                                          "ORDER BY queued, comment_id"), (map_id,)).fetchall()
        return [_message(row) for row in rows]

    @contextmanager
    def sending_lock(self) -> Iterator[bool]:
        """One sender at a time: a PostgreSQL advisory lock, or a lock file beside SQLite."""
        if isinstance(self.database, SqliteDatabase):
            import fcntl

            path = self.database.path.with_name("mail-sender.lock")
            with open(path, "a+b") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                try:
                    yield True
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self.database.connection() as conn:  # type: ignore[attr-defined]
            taken = bool(conn.execute("SELECT pg_try_advisory_lock(%s)",
                                      (SENDER_LOCK,)).fetchone()[0])
            try:
                yield taken
            finally:
                if taken:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (SENDER_LOCK,))

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the table cannot be read."""
        self.database.check_table(TABLE)



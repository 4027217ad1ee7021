"""Consultation comments: check a submission against its map, store it at most once per key.

No Flask here: the views and the CLI hand in decoded JSON and get dataclasses or problems back.
Every rule a client can break raises ``Unprocessable`` naming the member at fault.
"""

from __future__ import annotations

import builtins
import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import shapely

from ..maps import MapDefinition, MapRegistry
from ..maps.model import MapLayer
from ..problems import Conflict, FeatureNotFound, LayerNotFound, NotFound, Problem, Unprocessable
from ..store.base import Store
from ..types import ItemPage, LayerInfo
from .photos import Photo, PhotoInfo, clean_photos
from .shapes import check_geometry

log = logging.getLogger("webmap.comments")

STATUSES = ("pending", "published", "hidden")
MAX_TEXT_CHARS = 5000
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_KEY_CHARS = 255
MAX_BODY_BYTES = 64 * 1024
DEFAULT_PHOTO_MAX_BYTES = 10 * 1024 * 1024
FIELDS = frozenset({"text", "geometry", "feature", "name", "email", "language", "website",
                    "idempotency_key", "notify"})
"""Every member a submission may have; others are refused so a misspelt one is not lost."""

ID_LENGTH = 10
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
REAL_FIRST = BASE32[:26]
DECOY_FIRST = BASE32[26:]
"""Stored comments' ids begin with a letter, honeypot receipts' with a digit: never the same."""
COMMENT_ID = re.compile(rf"^[{REAL_FIRST}][{BASE32}]{{{ID_LENGTH - 1}}}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters other than tab, newline and carriage return."""
KEY = re.compile(r"^[\x21-\x7e]+$")


def new_comment_id() -> str:
    """A 10-character base32 id (about 49 random bits) that begins with a letter."""
    return secrets.choice(REAL_FIRST) + "".join(secrets.choice(BASE32)
                                                for _ in range(ID_LENGTH - 1))


def decoy_comment_id() -> str:
    """An id for a honeypot receipt: looks like a real one but begins with a digit."""
    return secrets.choice(DECOY_FIRST) + "".join(secrets.choice(BASE32)
                                                 for _ in range(ID_LENGTH - 1))


def is_comment_id(value: str) -> bool:
    """Whether ``value`` could name a stored comment (honeypot ids never do)."""
    return bool(COMMENT_ID.match(value))


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """The plan feature as the resident saw it when commenting (SPEC §7)."""

    version: str
    """The layer version the feature was read from."""
    key: str | None
    """The feature's id attribute value, where the layer has one."""
    label: str | None
    """What the map calls the feature (its label attribute)."""
    geometry: str
    """GeoJSON text in CRS84."""
    attributes: str
    """The map's key attributes of the feature, a JSON object."""


PLAN_CODE = "letter_code"
"""The attribute of plan layers (``webmap plans import``) that holds an area's letter code."""
SNAPSHOT_COLUMNS = ("feature_version", "feature_key", "feature_label", "feature_geometry",
                    "feature_attributes")
"""Where a snapshot is stored, beside the comment."""
RESPONSE_COLUMNS = ("themes", "response", "changed_plan", "responded", "published_response",
                    "notify")
"""The staff response beside the comment (migration 0008) and the resident's wish to be told."""
MAX_RESPONSE_CHARS = 20000
MAX_THEMES = 20
MAX_THEME_CHARS = 80
RESPONSE_FIELDS = frozenset({"response", "themes", "changed_plan"})


@dataclass(frozen=True, kw_only=True)
class Submission:
    """A checked comment, ready to store; ``geometry`` is canonical GeoJSON text in CRS84."""

    map_id: str
    text: str
    language: str
    geometry: str | None = None
    feature_collection: str | None = None
    feature_id: str | None = None
    name: str | None = None
    email: str | None = None
    idempotency_key: str | None = None
    snapshot: Snapshot | None = None
    notify: bool = False
    photos: tuple[Photo, ...] = ()
    """Checked, re-encoded photos, stored in the comment's transaction."""

    def snapshot_values(self) -> tuple[str | None, ...]:
        """The five snapshot columns (all None without a feature)."""
        s = self.snapshot
        if s is None:
            return (None,) * len(SNAPSHOT_COLUMNS)
        return (s.version, s.key, s.label, s.geometry, s.attributes)


@dataclass(frozen=True, kw_only=True)
class Comment:
    """A stored comment; ``created`` is ISO 8601 in UTC."""

    id: str
    map_id: str
    created: str
    status: str
    text: str
    language: str
    geometry: str | None
    feature_collection: str | None
    feature_id: str | None
    name: str | None
    email: str | None
    idempotency_key: str | None
    feature_version: str | None = None
    feature_key: str | None = None
    feature_label: str | None = None
    feature_geometry: str | None = None
    feature_attributes: str | None = None
    themes: str = "[]"
    """A JSON array of the themes staff tagged the comment with."""
    response: str | None = None
    """The response staff are writing (never public)."""
    changed_plan: bool = False
    responded: str | None = None
    """When the response was last changed, ISO 8601 in UTC."""
    published_response: str | None = None
    """The response as published: what the public and the mail read."""
    notify: bool = False
    """The resident asked to be told by e-mail when the responses are published."""
    photos: tuple[PhotoInfo, ...] = ()
    """The attached photos (their bytes are read only when one is served)."""

    @property
    def place(self) -> str | None:
        """The geometry to show and export: the resident's own, else the plan feature's as
        it was when they commented."""
        return self.geometry or self.feature_geometry

    def attributes(self) -> dict[str, Any]:
        """The plan feature's key attributes as they were (empty without a snapshot)."""
        if not self.feature_attributes:
            return {}
        try:
            found = orjson.loads(self.feature_attributes)
        except orjson.JSONDecodeError:
            return {}
        return found if isinstance(found, dict) else {}

    def same_content(self, submission: Submission) -> bool:
        """Whether a retry carries the comment stored under its key (personal data aside)."""
        return (self.text, self.language, self.geometry, self.feature_collection,
                self.feature_id) == (submission.text, submission.language, submission.geometry,
                                     submission.feature_collection, submission.feature_id)

    def feature_ref(self) -> dict[str, Any] | None:
        """``{"collection", "id"}`` of the plan feature commented on, or None."""
        if self.feature_collection is None or self.feature_id is None:
            return None
        fid = self.feature_id
        ref: dict[str, Any] = {"collection": self.feature_collection,
                               "id": int(fid) if fid.isascii() and fid.isdigit() else fid}
        if self.feature_version is not None:
            ref |= {"label": self.feature_label, "key": self.feature_key,
                    "version": self.feature_version, "attributes": self.attributes()}
        return ref

    def theme_list(self) -> list[str]:
        """The themes as a list (empty when none or unreadable)."""
        try:
            found = orjson.loads(self.themes or "[]")
        except orjson.JSONDecodeError:
            return []
        return [str(t) for t in found] if isinstance(found, list) else []

    @property
    def themes_text(self) -> str:
        """The themes separated by commas, for CSV and GeoPackage columns."""
        return ", ".join(self.theme_list())

    def public_response(self) -> dict[str, Any] | None:
        """The published response, or None while staff have published none."""
        if self.published_response is None:
            return None
        return {"text": self.published_response, "changed_plan": self.changed_plan,
                "themes": self.theme_list()}

    def photo_path(self, n: int) -> str:
        """Where the public reads photo ``n`` once the comment is published."""
        return f"/maps/{self.map_id}/comments/{self.id}/photos/{n}"

    def public_properties(self, *, base: str = "") -> dict[str, Any]:
        """What anyone may read: never a name, an e-mail or an unpublished response.
        ``base`` is put before the photos' paths (the service's public address)."""
        return {"id": self.id, "text": self.text, "created": self.created,
                "feature": self.feature_ref(), "language": self.language,
                "response": self.public_response(),
                "photos": [{"href": base + self.photo_path(p.n), "alt": p.alt,
                            "type": "image/jpeg", "width": p.width, "height": p.height}
                           for p in self.photos]}

    def staff_properties(self, *, base: str = "") -> dict[str, Any]:
        """Everything, for moderation and export; photos link to the staff API (which serves
        them whatever the status) and name their file in a zip export."""
        return {**self.public_properties(), "map_id": self.map_id, "status": self.status,
                "name": self.name, "email": self.email, "notify": self.notify,
                "themes": self.theme_list(), "draft_response": self.response,
                "responded": self.responded,
                "photos": [{"href": f"{base}/admin/api/comments/{self.id}/photos/{p.n}",
                            "alt": p.alt, "file": p.file_name(self.id), "type": "image/jpeg",
                            "width": p.width, "height": p.height, "bytes": p.size}
                           for p in self.photos]}

    @property
    def photo_files(self) -> str:
        """The photos' file names in a zip export, separated by commas (CSV, GeoPackage)."""
        return ", ".join(p.file_name(self.id) for p in self.photos)


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission: ``created`` is False for a replayed idempotency key."""

    id: str
    status: str
    created: bool


@dataclass(frozen=True)
class PurgeReport:
    """How much personal data a purge removed."""

    comments: int
    names: int
    emails: int
    photos: int = 0


@dataclass(frozen=True)
class Publication:
    """A map's responses made public: when, how many, and how many messages were queued."""

    map_id: str
    published: str
    responses: int
    queued: int


@dataclass(frozen=True)
class Message:
    """One queued e-mail to a resident who asked to be told."""

    comment_id: str
    map_id: str
    recipient: str | None
    language: str
    subject: str
    body: str
    queued: str
    sent: str | None
    attempts: int
    last_error: str | None


class CommentNotFound(NotFound):
    """No stored comment with this id."""

    def __init__(self, comment_id: str) -> None:
        super().__init__(f"there is no comment {comment_id!r}")


class CommentStorage(Protocol):
    """Where comments live: SQLite in the data directory, or PostgreSQL."""

    def add(self, submission: Submission) -> tuple[Comment, bool]:
        """Store a comment, or return the one already stored under its key (then False)."""

    def by_key(self, map_id: str, idempotency_key: str) -> Comment | None:
        """The comment stored under this map's key, if any."""

    def get(self, comment_id: str) -> Comment:
        """One comment; raises ``CommentNotFound``."""

    def list(self, map_id: str, *, statuses: Sequence[str] = STATUSES) -> list[Comment]:
        """A map's comments with these statuses, oldest first."""

    def set_status(self, comment_id: str, status: str) -> Comment:
        """Moderate a comment; raises ``CommentNotFound``."""

    def purge_personal_data(self, map_id: str) -> PurgeReport:
        """Blank every name and e-mail of a map's comments and delete their photos, in one
        transaction."""

    def photo(self, comment_id: str, n: int) -> tuple[Comment, bytes]:
        """The comment and the JPEG of its photo ``n``; raises ``NotFound``."""

    def map_ids(self) -> tuple[str, ...]:
        """Every map that has stored comments, by id."""

    def restore(self, comments: Sequence[Comment]) -> int:
        """Insert comments as they were (a backup); skip those already stored."""

    def restore_photos(self, photos: Sequence[tuple[str, int, Photo]]) -> int:
        """Insert (comment id, n, photo) as they were; skip those already stored."""

    def respond(self, comment_id: str, changes: Mapping[str, Any]) -> Comment:
        """Set some of ``themes`` (JSON text), ``response`` and ``changed_plan``."""

    def set_theme_response(self, map_id: str, theme: str, response: str | None) -> int:
        """Give every comment of the map tagged ``theme`` this response; how many."""

    def publish_responses(self, map_id: str,
                          compose: Callable[[Comment], tuple[str, str]]) -> Publication:
        """Make every written response of the map public and queue, in the same
        transaction, one message (subject, body from ``compose``) per resident who asked."""

    def publication(self, map_id: str) -> Publication | None:
        """When the map's responses were last published."""

    def unsent(self, *, limit: int = 100) -> builtins.list[Message]:
        """Queued messages not yet accepted by the SMTP server, oldest first."""

    def mark_sent(self, comment_id: str) -> None:
        """Record that the message was accepted."""

    def mark_failed(self, comment_id: str, error: str) -> None:
        """Record a failed attempt (it stays queued)."""

    def messages(self, map_id: str) -> builtins.list[Message]:
        """Every queued or sent message of a map."""

    def sending_lock(self) -> AbstractContextManager[bool]:
        """Held by one sender at a time, across processes and hosts (True when taken)."""

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the storage cannot be reached."""


# -- checking a submission ------------------------------------------------------------------


def _string(data: Mapping[str, Any], key: str, *, limit: int, multiline: bool = False
            ) -> str | None:
    """A trimmed string member; None when absent or blank."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unprocessable(key, f"{key} must be a string")
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise Unprocessable(key, f"{key} has {len(value)} characters; at most {limit} are "
                                 "accepted")
    if CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        raise Unprocessable(key, f"{key} contains control characters")
    return value


def check_feature(value: Any, definition: MapDefinition, store: Store
                  ) -> tuple[str, str, Snapshot]:
    """(collection, id, snapshot) of an existing feature in one of the map's plan layers."""
    if not isinstance(value, Mapping):
        raise Unprocessable("feature", 'feature must be {"collection": …, "id": …}')
    unknown = sorted(set(value) - {"collection", "id"})
    if unknown:
        raise Unprocessable(f"feature.{unknown[0]}", f"feature has no member {unknown[0]!r}")
    collection = value.get("collection")
    plan_layers = [layer.layer for layer in definition.plan_layers]
    if not isinstance(collection, str) or collection not in plan_layers:
        listed = ", ".join(plan_layers) or "none"
        raise Unprocessable("feature.collection", f"feature.collection must be one of the "
                                                  f"map's plan layers ({listed})")
    raw_id = value.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        raise Unprocessable("feature.id", "feature.id must be the feature's id")
    text_id = str(raw_id).strip()
    if not (text_id.isascii() and text_id.isdigit()) or len(text_id) > 18:
        raise Unprocessable("feature.id", f"collection {collection!r} has no feature "
                                          f"{raw_id!r}")
    try:
        info = store.layer(collection)
        page = store.item(info, int(text_id))
    except (FeatureNotFound, LayerNotFound):
        raise Unprocessable("feature.id", f"collection {collection!r} has no feature "
                                          f"{raw_id!r}") from None
    item = next(layer for layer in definition.plan_layers if layer.layer == collection)
    return collection, str(int(text_id)), snapshot_of(item, info, page)


def _plain(value: Any) -> Any:
    """An attribute value as JSON can hold it (dates as ISO text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def snapshot_of(item: MapLayer, info: LayerInfo, page: ItemPage) -> Snapshot:
    """What the resident saw of a feature: its label, key attributes and geometry."""
    props = page.properties[0]
    label = props.get(item.label_field) if item.label_field else None
    wanted = [*item.attributes]
    if item.label_field and item.label_field not in wanted:
        wanted.insert(0, item.label_field)
    if info.id_field and info.id_field not in wanted:
        wanted.append(info.id_field)
    if PLAN_CODE in props and PLAN_CODE not in wanted:  # a plan layer: the export names it
        wanted.append(PLAN_CODE)
    attributes = {name: _plain(props.get(name)) for name in wanted if name in props}
    key = props.get(info.id_field) if info.id_field else None
    return Snapshot(version=info.version, key=None if key is None else str(key),
                    label=None if label is None else str(label),
                    geometry=str(shapely.to_geojson(page.geometries[0])),
                    attributes=orjson.dumps(attributes).decode())


def check_key(header: str | None, body: Any) -> str | None:
    """The idempotency key from the header or the body (they must agree when both are sent)."""
    if body is not None and not isinstance(body, str):
        raise Unprocessable("idempotency_key", "idempotency_key must be a string")
    keys = {k.strip() for k in (header, body) if k is not None and k.strip()}
    if len(keys) > 1:
        raise Unprocessable("idempotency_key", "the Idempotency-Key header and idempotency_key "
                                               "differ; send one of them")
    if not keys:
        return None
    key = keys.pop()
    if len(key) > MAX_KEY_CHARS or not KEY.match(key):
        raise Unprocessable("idempotency_key", f"an idempotency key is 1-{MAX_KEY_CHARS} "
                                               "visible ASCII characters, e.g. a UUID")
    return key


def check_submission(data: Mapping[str, Any], definition: MapDefinition, store: Store, *,
                     idempotency_key: str | None) -> Submission:
    """A ``Submission`` from decoded JSON, or ``Unprocessable`` naming the first field at fault."""
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise Unprocessable(unknown[0], f"unknown member {unknown[0]!r}; a comment has "
                                        f"{', '.join(sorted(FIELDS - {'website'}))}")
    consultation = definition.consultation
    kinds = consultation.geometry if consultation else ()
    text = _string(data, "text", limit=MAX_TEXT_CHARS, multiline=True)
    if text is None:
        raise Unprocessable("text", "write a comment: text must not be empty")
    language = data.get("language")
    if not isinstance(language, str) or language not in definition.languages:
        raise Unprocessable("language", f"language must be one of "
                                        f"{', '.join(definition.languages)}")
    geometry_given = data.get("geometry") is not None
    feature_given = data.get("feature") is not None
    if not geometry_given and not feature_given:
        field = "geometry" if set(kinds) - {"feature"} else "feature"
        raise Unprocessable(field, "choose a place on the map or a plan feature to comment on")
    geometry = check_geometry(data["geometry"], definition, kinds) if geometry_given else None
    collection = feature_id = None
    snapshot = None
    if feature_given:
        if "feature" not in kinds:
            raise Unprocessable("feature", f"map {definition.id!r} takes comments on places, "
                                           "not on plan features")
        collection, feature_id, snapshot = check_feature(data["feature"], definition, store)
    name = _string(data, "name", limit=MAX_NAME_CHARS)
    email = _string(data, "email", limit=MAX_EMAIL_CHARS)
    if email is not None and not EMAIL.match(email):
        raise Unprocessable("email", "email does not look like an e-mail address "
                                     "(name@example.fi)")
    notify = data.get("notify", False)
    if notify is None:
        notify = False
    if not isinstance(notify, bool):
        raise Unprocessable("notify", "notify is true or false")
    if notify and email is None:
        raise Unprocessable("email", "give an e-mail address to be told when the responses "
                                     "are published")
    return Submission(map_id=definition.id, text=text, language=language, geometry=geometry,
                      feature_collection=collection, feature_id=feature_id, name=name,
                      email=email, idempotency_key=idempotency_key, snapshot=snapshot,
                      notify=notify)


def check_response(value: Any) -> str | None:
    """A response text (None clears it)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unprocessable("response", "response is a text, or null to clear it")
    text = CONTROL.sub("", value).strip()
    if len(text) > MAX_RESPONSE_CHARS:
        raise Unprocessable("response", f"response is at most {MAX_RESPONSE_CHARS} characters")
    return text or None


def check_themes(value: Any) -> list[str]:
    """Theme names: a list of short texts, duplicates dropped, order kept."""
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise Unprocessable("themes", "themes is a list of texts, e.g. [\"traffic\"]")
    found: list[str] = []
    for raw in value:
        theme = " ".join(CONTROL.sub("", raw).split())
        if not theme:
            raise Unprocessable("themes", "a theme must not be empty")
        if len(theme) > MAX_THEME_CHARS:
            raise Unprocessable("themes", f"a theme is at most {MAX_THEME_CHARS} characters")
        if theme.casefold() not in (t.casefold() for t in found):
            found.append(theme)
    if len(found) > MAX_THEMES:
        raise Unprocessable("themes", f"at most {MAX_THEMES} themes per comment")
    return found


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="minutes")


def check_open(definition: MapDefinition, now: datetime) -> None:
    """Raise ``Conflict`` (409) unless the map's consultation takes comments now."""
    consultation = definition.consultation
    if consultation is None:
        raise Conflict(f"map {definition.id!r} does not take comments")
    if consultation.is_open(now):
        return
    opens = _when(consultation.opens) if consultation.opens else None
    closes = _when(consultation.closes) if consultation.closes else None
    if consultation.opens and now < consultation.opens:
        raise Conflict(f"the consultation on map {definition.id!r} opens at {opens}",
                       opens=opens, closes=closes)
    raise Conflict(f"the consultation on map {definition.id!r} closed at {closes}",
                   opens=opens, closes=closes)


class CommentService:
    """The rules of a consultation over a storage: what the API and the CLI both call."""

    def __init__(self, storage: CommentStorage, *, maps: MapRegistry, store: Store,
                 photo_max_bytes: int = DEFAULT_PHOTO_MAX_BYTES) -> None:
        self.storage = storage
        self.maps = maps
        self.store = store
        self.photo_max_bytes = photo_max_bytes

    def submit(self, map_id: str, data: Any, *, idempotency_key: str | None = None,
               now: datetime | None = None, photos: Sequence[bytes] = (),
               photo_alts: Sequence[object] = ()) -> Receipt:
        """Check and store a comment once per key; a filled honeypot gets a receipt only.
        ``photos`` (uploaded bytes) with one description each in ``photo_alts`` are checked
        and re-encoded before anything is stored, and stored with the comment or not at all."""
        now = now or datetime.now(UTC)
        definition = self.maps.get(map_id)
        if not isinstance(data, Mapping):
            raise Problem("the body must be a JSON object", title="Invalid body")
        key = check_key(idempotency_key, data.get("idempotency_key"))
        if data.get("website"):
            # A hidden field people never see: whatever filled it is a naive bot.
            log.info("honeypot filled on map %s; nothing stored", map_id)
            return Receipt(decoy_comment_id(), "pending", created=True)
        if key is not None:
            stored = self.storage.by_key(map_id, key)
            if stored is not None:
                # A retry is answered even after the consultation has closed.
                return self._replay(stored, data, definition, key)
        check_open(definition, now)
        submission = check_submission(data, definition, self.store, idempotency_key=key)
        if photos or photo_alts:
            allowed = definition.consultation.photos if definition.consultation else 0
            submission = replace(submission, photos=clean_photos(
                photos, photo_alts, allowed=allowed, max_bytes=self.photo_max_bytes))
        comment, created = self.storage.add(submission)
        if not created:
            if not comment.same_content(submission):
                raise _key_reused()
            return Receipt(comment.id, comment.status, created=False)
        log.info("comment %s stored for map %s (%d photos)", comment.id, map_id,
                 len(submission.photos))
        return Receipt(comment.id, comment.status, created=True)

    def _replay(self, stored: Comment, data: Mapping[str, Any], definition: MapDefinition,
                key: str) -> Receipt:
        submission = check_submission(data, definition, self.store, idempotency_key=key)
        if not stored.same_content(submission):
            raise _key_reused()
        return Receipt(stored.id, stored.status, created=False)

    def public_photo(self, map_id: str, comment_id: str, n: int) -> bytes:
        """A published comment's photo; 404 for any other (pending and hidden alike)."""
        missing = NotFound(f"comment {comment_id!r} of map {map_id!r} has no public photo {n}")
        if not is_comment_id(comment_id):
            raise missing
        try:
            comment, data = self.storage.photo(comment_id, n)
        except NotFound:
            raise missing from None
        if comment.map_id != map_id or comment.status != "published":
            raise missing
        return data

    def staff_photo(self, comment_id: str, n: int) -> tuple[Comment, bytes]:
        """Any comment's photo, for moderation."""
        if not is_comment_id(comment_id):
            raise CommentNotFound(comment_id)
        return self.storage.photo(comment_id, n)

    def published(self, map_id: str) -> list[Comment]:
        """A map's published comments, oldest first (404 for an unknown map)."""
        self.maps.get(map_id)
        return self.storage.list(map_id, statuses=("published",))

    def for_staff(self, map_id: str, *, statuses: Sequence[str] = STATUSES) -> list[Comment]:
        """A map's comments with personal data, for moderation and export."""
        return self.storage.list(map_id, statuses=statuses)

    def moderate(self, comment_id: str, status: Any) -> Comment:
        """Publish, hide or return a comment to pending."""
        if not isinstance(status, str) or status not in STATUSES:
            raise Unprocessable("status", f"status must be one of {', '.join(STATUSES)}")
        if not is_comment_id(comment_id):
            raise CommentNotFound(comment_id)
        comment = self.storage.set_status(comment_id, status)
        log.info("comment %s set to %s", comment_id, status)
        return comment

    def respond(self, comment_id: str, data: Mapping[str, Any]) -> Comment:
        """Write staff's response: any of ``response`` (text, or null to clear),
        ``themes`` (a list of short texts) and ``changed_plan`` (true/false)."""
        unknown = sorted(set(data) - RESPONSE_FIELDS)
        if unknown:
            raise Unprocessable(unknown[0], f"unknown member {unknown[0]!r}; send status, "
                                            f"{', '.join(sorted(RESPONSE_FIELDS))}")
        changes: dict[str, Any] = {}
        if "response" in data:
            changes["response"] = check_response(data["response"])
        if "themes" in data:
            changes["themes"] = orjson.dumps(check_themes(data["themes"])).decode()
        if "changed_plan" in data:
            if not isinstance(data["changed_plan"], bool):
                raise Unprocessable("changed_plan", "changed_plan is true or false")
            changes["changed_plan"] = data["changed_plan"]
        if not is_comment_id(comment_id):
            raise CommentNotFound(comment_id)
        if not changes:
            return self.storage.get(comment_id)
        comment = self.storage.respond(comment_id, changes)
        log.info("response to comment %s changed (%s)", comment_id, ", ".join(sorted(changes)))
        return comment

    def respond_to_theme(self, map_id: str, theme: Any, response: Any) -> int:
        """Give every comment of ``map_id`` tagged ``theme`` the same response."""
        self.maps.get(map_id)
        (name,) = check_themes([theme]) or [""]
        return self.storage.set_theme_response(map_id, name, check_response(response))

    def themes(self, map_id: str) -> dict[str, int]:
        """Each theme staff used on the map and how many comments carry it."""
        counts: dict[str, int] = {}
        for comment in self.storage.list(map_id):
            for theme in comment.theme_list():
                counts[theme] = counts.get(theme, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: kv[0].casefold()))

    def publish_responses(self, map_id: str, *, link: str) -> Publication:
        """Make the map's written responses public (published comments show them) and queue
        one message per resident who asked to be told; ``link`` is the map's public page."""
        from .mail import compose_message

        definition = self.maps.get(map_id)
        publication = self.storage.publish_responses(
            map_id, lambda comment: compose_message(comment, definition, link))
        log.info("responses of map %s published: %d responses, %d messages queued",
                 map_id, publication.responses, publication.queued)
        return publication

    def purge_personal_data(self, map_id: str, *, force: bool = False,
                            now: datetime | None = None) -> PurgeReport:
        """Blank names and e-mails and delete the photos once the consultation is over
        (``force``: at any time)."""
        now = now or datetime.now(UTC)
        try:
            definition: MapDefinition | None = self.maps.get(map_id)
        except NotFound:
            definition = None  # a map taken down keeps its comments until purged
        consultation = definition.consultation if definition else None
        if consultation is not None and not force and not (
                consultation.closes is not None and now >= consultation.closes):
            closes = _when(consultation.closes) if consultation.closes else "no closing date"
            raise Conflict(f"the consultation on map {map_id!r} is not over (closes: "
                           f"{closes}); purge after it closes, or use --force")
        report = self.storage.purge_personal_data(map_id)
        log.info("personal data purged from %d comments on map %s (%d photos deleted)",
                 report.comments, map_id, report.photos)
        return report


def _key_reused() -> Unprocessable:
    return Unprocessable("idempotency_key", "this idempotency key was already used for a "
                                            "different comment; make a new key per comment")

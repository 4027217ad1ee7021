"""One settings object, built once from ``WEBMAP_*`` environment variables."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """A ``WEBMAP_*`` variable has a value webmap cannot use; names the variable."""


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _origins(value: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in value.replace(",", " ").split() if o.strip())
    for origin in origins:
        if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
            raise ValueError(f"{origin!r} is not an origin like https://example.fi")
    return origins


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be a whole number of at least 1")
    return number


def _url(value: str) -> str:
    return value.strip().rstrip("/")


def _rate_limits(value: str) -> str:
    """``off`` or limits such as ``10/minute;100/hour`` (flask-limiter's notation)."""
    import limits

    cleaned = value.strip()
    if cleaned.lower() == "off":
        return "off"
    limits.parse_many(cleaned)  # raises ValueError naming the bad part
    return cleaned


def _session_hours(value: str) -> int:
    hours = int(value)
    if not 1 <= hours <= 168:
        raise ValueError("must be a whole number of hours from 1 to 168")
    return hours


def _secret(value: str) -> str:
    if len(value) < 32:
        raise ValueError("must be at least 32 characters (e.g. `python3 -c "
                         "'import secrets; print(secrets.token_urlsafe(48))'`)")
    return value


def _smtp_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("give smtp://[user:password@]host[:port] or smtps://…")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise ValueError("the port is not a number") from None
    return value


def _mail_from(value: str) -> str:
    if "@" not in value or any(c in value for c in "\r\n"):
        raise ValueError("give an e-mail address such as kaavoitus@kunta.fi")
    return value


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be 1/0, true/false, yes/no or on/off")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Validated configuration; tests construct it directly, ``from_env`` reads the environment."""

    data_dir: Path = field(
        default=Path("data"),
        metadata={"help": "Where the embedded database (webmap.sqlite), layers (GeoPackage, "
                          "COG) and caches live.",
                  "parse": _path},
    )
    layers_dir: Path = field(
        default=Path("layers"),
        metadata={"help": "Layer and map definitions, and the demo data.", "parse": _path},
    )
    styles_dir: Path = field(
        default=Path("styles"),
        metadata={"help": "Layer styles, and the base maps webmap draws itself in basemaps/.",
                  "parse": _path},
    )
    database_url: str | None = field(
        default=None,
        metadata={"help": "postgresql://… to keep everything (layers in PostGIS, the "
                          "catalogue, maps, tokens, comments) in PostgreSQL instead of files.",
                  "parse": str},
    )
    redis_url: str | None = field(
        default=None,
        metadata={"help": "redis://… to share rate limits and caches between workers and hosts.",
                  "parse": str},
    )
    public_url: str | None = field(
        default=None,
        metadata={"help": "The service's public base URL for links (default: from the request).",
                  "parse": _url},
    )
    embed_origins: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Origins allowed to embed every map, space or comma separated.",
                  "parse": _origins},
    )
    max_upload_mb: int = field(
        default=200,
        metadata={"help": "Largest accepted upload in MiB.", "parse": _positive_int},
    )
    proxy_hops: int = field(
        default=0,
        metadata={"help": "Reverse proxies in front that set X-Forwarded-For/-Proto/-Host "
                          "(0: trust none).", "parse": int},
    )
    import_max_pixels: int = field(
        default=2_000_000_000,
        metadata={"help": "Most pixels (width × height) of a raster an import accepts; a larger "
                          "one is refused (413) before it is read.", "parse": _positive_int},
    )
    import_max_features: int = field(
        default=5_000_000,
        metadata={"help": "Most features of one imported layer; more are refused (413).",
                  "parse": _positive_int},
    )
    import_timeout_s: float = field(
        default=900.0,
        metadata={"help": "Seconds one import (CLI or staff upload) may read and convert its "
                          "file; it runs in a child process that is stopped then, and nothing "
                          "is stored (1–86400).", "parse": float},
    )
    query_timeout_s: float = field(
        default=10.0,
        metadata={"help": "Seconds one feature query may run (SQLite progress handler, "
                          "PostgreSQL statement_timeout) before it answers 503 with "
                          "Retry-After (0.01–300).", "parse": float},
    )
    tile_cache: bool = field(
        default=True,
        metadata={"help": "Keep rendered tiles on disk until the layer changes (1/0).",
                  "parse": _flag},
    )
    tile_cache_mb: int = field(
        default=1024,
        metadata={"help": "Disk kept for rendered tiles (layers and drawn base maps, each) in "
                          "MiB; the oldest are removed first.", "parse": _positive_int},
    )
    tile_cache_files: int = field(
        default=200_000,
        metadata={"help": "Most rendered tiles kept on disk (layers and drawn base maps, "
                          "each); the oldest are removed first.", "parse": _positive_int},
    )
    raster_tile_max_read_pixels: int = field(
        default=4_194_304,
        metadata={"help": "Most source pixels one raster tile may read (at the overview it "
                          "reads from); a tile over it, e.g. mid zoom on a large raster "
                          "without overviews, answers 422 instead of tying up a worker.",
                  "parse": _positive_int},
    )
    basemap_proxy_timeout: float = field(
        default=5.0,
        metadata={"help": "Seconds webmap waits for an upstream tile service (NLS, "
                          "Lantmäteriet, any WMTS/XYZ) before answering with an error tile.",
                  "parse": float},
    )
    basemap_proxy_cache_mb: int = field(
        default=512,
        metadata={"help": "Disk kept for tiles of upstream tile services in MiB (oldest "
                          "dropped first; 0: keep none).", "parse": int},
    )
    basemap_proxy_cache_hours: int = field(
        default=24,
        metadata={"help": "Hours a tile of an upstream service is served from the cache "
                          "before it is fetched again.", "parse": _positive_int},
    )
    comment_rate_limit: str = field(
        default="10/minute;100/hour",
        metadata={"help": "Comments one client address may post, e.g. 10/minute;100/hour, "
                          "or off.", "parse": _rate_limits},
    )
    photo_max_mb: int = field(
        default=10,
        metadata={"help": "Largest photo a resident may attach to a comment, in MiB (each "
                          "photo; at most 3 per comment). Photos are re-encoded as JPEG of at "
                          "most 2048 px without metadata.", "parse": _positive_int},
    )
    secret_key: str | None = field(
        default=None, repr=False,
        metadata={"help": "Signs staff session cookies and form tokens; every host behind one "
                          "address must share it (default: a random key kept in "
                          "`DATA_DIR/secret_key`, enough for one host). At least 32 "
                          "characters.",
                  "parse": _secret},
    )
    staff_session_hours: int = field(
        default=8,
        metadata={"help": "Hours a staff sign-in lasts before the token must be given again "
                          "(1–168).",
                  "parse": _session_hours},
    )
    smtp_url: str | None = field(
        default=None, repr=False,
        metadata={"help": "smtp://user:password@host:587 (STARTTLS when offered) or "
                          "smtps://…:465: where the messages to residents who asked to be "
                          "told of the responses are sent (default: none are sent; staff "
                          "see who asked).",
                  "parse": _smtp_url},
    )
    mail_from: str | None = field(
        default=None,
        metadata={"help": "The From address of those messages, e.g. "
                          "kaavoitus@kunta.fi.", "parse": _mail_from},
    )
    log_level: str = field(
        default="INFO",
        metadata={"help": "Logging level: DEBUG, INFO, WARNING or ERROR.", "parse": str.upper},
    )

    def __post_init__(self) -> None:
        if self.log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"WEBMAP_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, "
                                f"got {self.log_level!r}")
        if not 1 <= self.import_timeout_s <= 86400:
            raise SettingsError("WEBMAP_IMPORT_TIMEOUT_S must be 1 to 86400 seconds")
        if not 0.01 <= self.query_timeout_s <= 300:
            raise SettingsError("WEBMAP_QUERY_TIMEOUT_S must be 0.01 to 300 seconds")
        if not 0.1 <= self.basemap_proxy_timeout <= 60:
            raise SettingsError("WEBMAP_BASEMAP_PROXY_TIMEOUT must be 0.1 to 60 seconds")
        if self.basemap_proxy_cache_mb < 0:
            raise SettingsError("WEBMAP_BASEMAP_PROXY_CACHE_MB must be 0 or more")
        try:
            _rate_limits(self.comment_rate_limit)
        except ValueError as exc:
            raise SettingsError(f"WEBMAP_COMMENT_RATE_LIMIT: {exc}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every ``WEBMAP_<NAME>``; a bad value stops start-up naming the variable."""
        values: dict[str, object] = {}
        for spec in dataclasses.fields(cls):
            name = env_name(spec.name)
            raw = environ.get(name)
            if raw is None or raw.strip() == "":
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw.strip())
            except ValueError as exc:
                shown = repr(raw) if spec.repr else "(hidden)"  # never echo a secret
                raise SettingsError(f"{name}={shown}: {exc}") from None
        return cls(**values)  # type: ignore[arg-type]

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return self.max_upload_mb * 1024 * 1024

    @property
    def photo_max_bytes(self) -> int:
        """The limit of one attached photo in bytes."""
        return self.photo_max_mb * 1024 * 1024


def env_name(field_name: str) -> str:
    """The environment variable that sets ``field_name``."""
    return "WEBMAP_" + field_name.upper()


def documented_settings() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting: the README's settings table."""
    rows = []
    for spec in dataclasses.fields(Settings):
        default = spec.default
        shown = "" if default in (None, ()) else str(default)
        rows.append((env_name(spec.name), shown, spec.metadata["help"]))
    return rows

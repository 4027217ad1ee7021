"""PostgreSQL: one ``psycopg_pool`` pool for the whole service, with the breaker wired in."""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from ..migrations import Dialect, Migration, MigrationStatus, runner
from ..problems import ServiceUnavailable
from .base import RETRY_AFTER_S, Breaker, Database

log = logging.getLogger("webmap.database")

POOL_TIMEOUT_S = 3.0
"""How long a request waits for a pooled connection (a worker thread uses one at a time, so
this is the time to connect): the longest a request waits when the database has just gone."""
DOWN_POOL_TIMEOUT_S = 0.5
"""How long a request waits for a connection while the database is known to be down."""
CONNECT_TIMEOUT_S = 3
"""libpq's ``connect_timeout`` unless the URL sets one: an unreachable host fails, not hangs."""
TCP_OPTIONS = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
               "keepalives_count": 3, "tcp_user_timeout": 10_000}
"""A server that vanishes without closing the socket (a cut network) fails a request within
10 s of unacknowledged data, or about a minute of silence, instead of hanging a worker."""
RECONNECT_TIMEOUT_S = 0.25
"""How long the pool retries one failed connection attempt in the background before it gives
up and leaves the next request to start a fresh one. psycopg_pool waits a second before its
first retry and doubles the wait after that; while it waits, no request gets a connection,
even when the database is back. Capped at a quarter of a second, a worker serves again at
most that long after the database returns."""
CHECK_IDLE_S = 1.0
"""Pooled connections idle this long get a round trip before they are handed out."""
SESSION_SETTINGS = ("SET jit = off", "SET max_parallel_workers_per_gather = 0")
"""Per connection. JIT compiling tile queries (their PostGIS costs pass ``jit_above_cost``)
took 0.8-1.4 s of a 1.0-1.7 s dense tile on the benchmark data, whose queries run in tens of
milliseconds; parallel workers cost more to start than such a query saves, and each worker
process already runs its own requests side by side."""
def connection_options(database_url: str) -> dict[str, Any]:
    """Pool connection keywords; timeouts only where the URL sets none (keywords win)."""
    given = conninfo_to_dict(database_url)
    options: dict[str, Any] = {"application_name": "webmap", "autocommit": True}
    defaults = {"connect_timeout": CONNECT_TIMEOUT_S, **TCP_OPTIONS}
    options.update({k: v for k, v in defaults.items() if k not in given})
    return options


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Session settings for every new pooled connection."""
    for statement in SESSION_SETTINGS:
        conn.execute(statement)


LOST = (psycopg.OperationalError, PoolTimeout)
"""What a lost database raises; a cancelled statement (its time budget) is not one."""


class PostgresDatabase(Database):
    """One ``psycopg_pool`` pool for the whole service; the schema is brought up to date on
    first use (the database may be away when webmap starts: requests answer 503 until then)."""

    dialect: Dialect = "postgres"
    integrity_errors = (psycopg.errors.UniqueViolation,)

    def __init__(self, database_url: str, *, min_size: int = 1, max_size: int = 8,
                 timeout_s: float | None = None, migrate: bool = True) -> None:
        self.breaker = Breaker()
        self._auto_migrate = migrate
        self._timeout_s = timeout_s = timeout_s or POOL_TIMEOUT_S
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary())
        self.pool: ConnectionPool[Any] = ConnectionPool(
            database_url, min_size=min_size, max_size=max_size, timeout=timeout_s, open=True,
            name="webmap", kwargs=connection_options(database_url), configure=_configure,
            check=self._check, reset=self._note_return, reconnect_timeout=RECONNECT_TIMEOUT_S,
            reconnect_failed=lambda _: self._mark_down())
        self.unaccent = False
        self._ready = False
        try:
            self._prepare()
        except ServiceUnavailable:
            log.warning("PostgreSQL is not reachable yet; webmap answers 503 until it is")

    # -- the breaker, wired into the pool ---------------------------------------------------
    def _note_return(self, conn: psycopg.Connection[Any]) -> None:
        """Pool ``reset`` callback: remember when the connection was last in use."""
        self._returned[conn] = time.monotonic()

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """Pool ``check`` callback: a round trip only for idle connections, or all when down."""
        # A restarted or lost server shows on connections idle a while; those a loaded worker
        # reuses every few milliseconds skip the round trip (a stale one costs one 503).
        if self.breaker.down or time.monotonic() - self._returned.get(conn, 0.0) >= CHECK_IDLE_S:
            try:
                ConnectionPool.check_connection(conn)
            except Exception:
                self._mark_down()
                raise

    def _mark_down(self) -> None:
        """Until the database answers: short connection waits, every connection checked."""
        self.breaker.down = True
        self.pool.timeout = min(self._timeout_s, DOWN_POOL_TIMEOUT_S)

    def _lost(self, exc: BaseException) -> ServiceUnavailable:
        problem = self.breaker.lost(exc)
        self._mark_down()
        return problem

    def _found(self) -> None:
        if self.breaker.found():
            self.pool.timeout = self._timeout_s

    # -- connections ------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Extensions and migrations, once per process (idempotent)."""
        try:
            with self.pool.connection() as conn:
                self._extensions(conn)
                if self._auto_migrate and not runner.postgres_is_current(conn):
                    runner.postgres_upgrade(conn)
        except LOST as exc:
            raise self._lost(exc) from exc
        self._ready = True

    def _extensions(self, conn: psycopg.Connection[Any]) -> None:
        installed = {r[0] for r in conn.execute(
            "SELECT extname FROM pg_extension WHERE extname IN ('postgis', 'unaccent')")}
        for extension in ("postgis", "unaccent"):
            if extension in installed:
                continue
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                        sql.Identifier(extension)))
                installed.add(extension)
            except psycopg.DatabaseError as exc:
                if extension == "postgis":
                    raise ServiceUnavailable(
                        "the database has no PostGIS and webmap may not install it",
                        headers={"Retry-After": str(RETRY_AFTER_S)}) from exc
                log.info("no unaccent extension (%s): ACCENTI uses translate()", exc)
        self.unaccent = "unaccent" in installed

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled autocommit connection on a current schema, outside any transaction (for
        COPY, session locks and DDL); a lost database becomes a 503."""
        if not self._ready:
            self._prepare()
        try:
            with self.pool.connection() as conn:
                yield conn
        except errors.QueryCanceled:
            raise  # a statement's time budget ran out: the database is fine
        except LOST as exc:
            raise self._lost(exc) from exc
        self._found()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection inside a transaction."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def sql(self, query: str) -> str:
        """``?`` placeholders as psycopg's ``%s``."""
        return query.replace("?", "%s")

    def stamp(self, moment: datetime, *, timespec: str = "milliseconds") -> Any:
        """PostgreSQL keeps ``timestamptz`` (to the microsecond; seconds when asked)."""
        return moment.replace(microsecond=0) if timespec == "seconds" else moment

    def jsonb(self, value: Any) -> Any:
        """A ``jsonb`` parameter."""
        return Jsonb(value)

    def migrate(self, *, target: int | None = None) -> list[Migration]:
        """Apply pending migrations on a pooled connection (hosts take turns)."""
        with self.connection() as conn:
            self._extensions(conn)
            ran = runner.postgres_upgrade(conn, target=target)
        self._ready = True
        return ran

    def status(self) -> list[MigrationStatus]:
        """Every migration and when it ran (``webmap_migrations``)."""
        try:
            with self.pool.connection() as conn:
                return runner.postgres_status(conn)
        except LOST as exc:
            raise self._lost(exc) from exc

    def close(self) -> None:
        """Close the pool's connections."""
        self.pool.close()



"""Numbered migrations for both dialects, ``webmap db init|migrate|status``, an embedded data
directory of the older four-file layout brought into the one database, and ``/readyz``
naming each part of storage that cannot be reached."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from tests.conftest import ROOT, assert_problem, make_buildings
from webmap.cli import main
from webmap.database import PostgresDatabase, SqliteDatabase
from webmap.migrations import DIALECTS, MigrationError, directory, migrations, runner
from webmap.services import open_services, services_of
from webmap.settings import Settings
from webmap.types import ImportReport, LayerKind, NormalisedLayer

LABELS = ["0001_catalogue", "0002_comments", "0003_search", "0004_tokens", "0005_maps",
          "0006_plans", "0007_comment_snapshots",
          "0008_responses", "0009_ended_sessions", "0010_attachments", "0011_editable_layers"]
TABLES = {"webmap_layers", "webmap_comments", "webmap_tokens", "webmap_maps",
          "webmap_maps_state", "webmap_plans", "webmap_response_publications",
          "webmap_mail_queue", "webmap_ended_sessions", "webmap_comment_photos"}
ONLY_POSTGRES = {"webmap_migrations": "SQLite keeps the version in PRAGMA user_version",
                 "webmap_search_indexes": "SQLite's search indexes are files (search/sqlite.py)"}
ONLY_POSTGRES_COLUMNS = {("webmap_comments", "geom"): "a PostGIS geometry for QGIS"}


def test_both_dialects_have_the_same_numbered_migrations() -> None:
    for dialect in DIALECTS:
        assert [m.label for m in migrations(directory(dialect))] == LABELS, dialect


def test_a_gap_or_a_bad_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    (tmp_path / "0003_third.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="0003_third.sql: expected migration 0002"):
        migrations(tmp_path)
    (tmp_path / "0003_third.sql").rename(tmp_path / "2-second.sql")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        migrations(tmp_path)


# -- PostgreSQL ----------------------------------------------------------------------------

@pytest.fixture
def conn(postgis_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh, empty schema."""
    with psycopg.connect(postgis_url, autocommit=True) as connection:
        yield connection


def pg_tables(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}


def pg_columns(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's columns (name, type, nullable, default, generated) and indexes."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table, *column in conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default,"
            " generation_expression FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"):
        found.setdefault(table, []).append(tuple(column))
    for table, index in conn.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " ORDER BY tablename, indexname"):
        found.setdefault(table, []).append((index.split(" ON ")[0],))
    return found


@pytest.mark.postgis
def test_migrate_an_empty_schema_then_again(conn: psycopg.Connection[Any]) -> None:
    assert [s.done for s in runner.postgres_status(conn)] == [False] * len(LABELS)
    ran = runner.postgres_upgrade(conn)
    assert [m.label for m in ran] == LABELS
    assert pg_tables(conn) == TABLES | set(ONLY_POSTGRES)
    recorded = conn.execute("SELECT version, name FROM webmap_migrations ORDER BY version")
    assert [f"{v:04d}_{n}" for v, n in recorded] == LABELS
    assert runner.postgres_is_current(conn)
    before = pg_columns(conn)
    assert runner.postgres_upgrade(conn) == []  # a no-op
    assert pg_columns(conn) == before
    assert conn.execute("SELECT revision FROM webmap_maps_state").fetchall() == [(0,)]


@pytest.mark.postgis
def test_an_old_database_gets_the_rest(conn: psycopg.Connection[Any]) -> None:
    assert [m.label for m in runner.postgres_upgrade(conn, target=1)] == ["0001_catalogue"]
    assert pg_tables(conn) == {"webmap_layers", "webmap_migrations"}
    assert not runner.postgres_is_current(conn)
    states = runner.postgres_status(conn)
    assert [s.applied is not None for s in states] == [True] + [False] * (len(LABELS) - 1)
    assert [m.label for m in runner.postgres_upgrade(conn)] == LABELS[1:]
    assert pg_tables(conn) == TABLES | set(ONLY_POSTGRES)


@pytest.mark.postgis
def test_a_migrated_schema_further_down_the_search_path_does_not_count(
        postgis_database: str, tmp_path: Path) -> None:
    """Another installation's tables later in the search path (say in ``public``) must not
    make webmap skip migrating its own schema."""
    from urllib.parse import quote

    from tests.conftest import fresh_schema

    with fresh_schema(postgis_database, "other") as other_url:
        with psycopg.connect(other_url, autocommit=True) as other:
            runner.postgres_upgrade(other)
            other_schema = other.execute("SELECT current_schema()").fetchone()[0]
        with fresh_schema(postgis_database, "mine") as mine_url:
            with psycopg.connect(mine_url, autocommit=True) as probe:
                mine = probe.execute("SELECT current_schema()").fetchone()[0]
            url = (f"{postgis_database}?options="
                   f"{quote(f'-csearch_path={mine},{other_schema},public')}")
            with psycopg.connect(url, autocommit=True) as conn:
                assert not runner.postgres_is_current(conn)
                assert [s.done for s in runner.postgres_status(conn)] == [False] * len(LABELS)
            with open_services(Settings(data_dir=tmp_path / "data", database_url=url)) as one:
                one.ping()
            with psycopg.connect(url, autocommit=True) as conn:
                assert pg_tables(conn) == TABLES | set(ONLY_POSTGRES)


@pytest.mark.postgis
def test_the_first_service_on_a_fresh_schema_migrates_it(postgis_url: str,
                                                          tmp_path: Path) -> None:
    """The migrations are the one definition of the tables: opening webmap on an empty schema
    brings it to the latest migration, and opening it again changes nothing."""
    settings = Settings(data_dir=tmp_path / "data", database_url=postgis_url)
    with psycopg.connect(postgis_url, autocommit=True) as fresh:
        assert pg_tables(fresh) == set()
    with open_services(settings) as services:
        services.ping()
    with psycopg.connect(postgis_url, autocommit=True) as made:
        assert pg_tables(made) == TABLES | set(ONLY_POSTGRES)
        assert [s.done for s in runner.postgres_status(made)] == [True] * len(LABELS)
        before = pg_columns(made)
    with open_services(settings) as services:
        services.ping()
    with psycopg.connect(postgis_url, autocommit=True) as again:
        assert pg_columns(again) == before
        assert runner.postgres_upgrade(again) == []


@pytest.mark.postgis
def test_two_hosts_migrating_at_once(postgis_url: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run_one() -> None:
        try:
            with psycopg.connect(postgis_url, autocommit=True) as connection:
                start.wait()
                results.append([m.label for m in runner.postgres_upgrade(connection)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results, key=len) == [[], LABELS]


@pytest.mark.postgis
def test_a_failing_migration_names_its_file_and_keeps_the_earlier_ones(
        conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE IF NOT EXISTS first (x int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE second (x int);\nSELEC 1;")
    with pytest.raises(MigrationError, match="0002_broken.sql: syntax error"):
        runner.postgres_upgrade(conn, folder=tmp_path)
    assert pg_tables(conn) == {"first", "webmap_migrations"}
    assert conn.execute("SELECT version FROM webmap_migrations").fetchall() == [(1,)]
    # the lock was released: another run gets as far again
    with pytest.raises(MigrationError):
        runner.postgres_upgrade(conn, folder=tmp_path)


# -- SQLite --------------------------------------------------------------------------------

def sqlite_columns(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


def test_a_new_data_directory_is_migrated_and_private(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "data")
    assert [s.done for s in db.status()] == [True] * len(LABELS)
    assert set(sqlite_columns(db.path)) == TABLES
    assert db.path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    assert db.migrate() == []  # a no-op
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(LABELS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failing_sqlite_migration_names_its_file_and_keeps_the_earlier_ones(
        tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("CREATE TABLE first (x integer);")
    (folder / "0002_broken.sql").write_text("CREATE TABLE second (x integer);\nSELEC 1;")
    path = tmp_path / "db.sqlite"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None)

    with pytest.raises(MigrationError, match="0002_broken.sql"):
        runner.sqlite_upgrade(connect, tmp_path / "lock", folder=folder)
    assert set(sqlite_columns(path)) == {"first"}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


@pytest.mark.postgis
def test_both_dialects_end_with_the_same_tables_and_columns(tmp_path: Path,
                                                            postgis_url: str) -> None:
    embedded = sqlite_columns(SqliteDatabase(tmp_path / "data").path)
    db = PostgresDatabase(postgis_url)
    try:
        with db.pool.connection() as conn:
            found = pg_columns(conn)
    finally:
        db.close()
    server = {table: [c[0] for c in columns if len(c) > 1] for table, columns in found.items()
              if table not in ONLY_POSTGRES}
    for (table, column) in ONLY_POSTGRES_COLUMNS:
        server[table].remove(column)
    assert server == embedded


# -- an embedded installation of the four-file layout --------------------------------------

OLD_LAYOUT = {
    "catalogue.sqlite": """
CREATE TABLE IF NOT EXISTS layers (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', attribution TEXT NOT NULL DEFAULT '',
    source_crs TEXT NOT NULL, minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL,
    maxy REAL NOT NULL, feature_count INTEGER NOT NULL, geometry_type TEXT NOT NULL,
    fields TEXT NOT NULL, version TEXT NOT NULL, location TEXT NOT NULL,
    updated TEXT NOT NULL);""",
    "comments.sqlite": """
CREATE TABLE IF NOT EXISTS webmap_comments (
    id TEXT PRIMARY KEY, map_id TEXT NOT NULL, created TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'hidden')),
    text TEXT NOT NULL, language TEXT NOT NULL, geometry TEXT, feature_collection TEXT,
    feature_id TEXT, name TEXT, email TEXT, idempotency_key TEXT,
    UNIQUE (map_id, idempotency_key));
CREATE INDEX IF NOT EXISTS webmap_comments_map ON webmap_comments (map_id, status, created);""",
    "staff.sqlite": """
CREATE TABLE IF NOT EXISTS staff_tokens (
    name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL,
    revoked TEXT);""",
    "maps.sqlite": """
CREATE TABLE IF NOT EXISTS webmap_maps (
    id TEXT PRIMARY KEY, definition TEXT NOT NULL, version TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webmap_maps_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
INSERT INTO webmap_maps_state (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;""",
}
"""The DDL each module of the previous release ran on its own file (copied from it)."""
PUBLISHED = {"id": "vanha", "title": {"fi": "Vanha kartta"}, "extent": [24.9, 60.1, 25.0, 60.2],
             "base": {"type": "rendered", "basemap": "helsinki"}, "consultation": {}}


def old_installation(data_dir: Path) -> dict[str, Any]:
    """A data directory as the previous release left it: a layer whose GeoPackage is written
    by today's store (its file format did not change), two comments (one with personal data),
    a token (active) and a revoked one, and a published map. Returns what was written."""
    with open_services(Settings(data_dir=data_dir / "scratch")) as services:
        frame = make_buildings(7)
        report = ImportReport(layer_id="talot", kind=LayerKind.VECTOR, title="Talot",
                              feature_count=7, source_crs="EPSG:3067",
                              bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                              geometry_type="Polygon")
        services.layers.import_layer("talot", lambda _: NormalisedLayer(report=report,
                                                                         frame=frame),
                                     attribution="© testi")
        info = services.layers.layer("talot")
    (data_dir / "layers").mkdir(parents=True)
    (data_dir / "scratch" / info.location).rename(data_dir / "layers" / "talot.gpkg")
    row = (info.id, "vector", info.title, "", "© testi", "EPSG:3067", *info.bbox, 7,
           info.geometry_type, json.dumps([[f.name, f.type] for f in info.fields]),
           info.version, "layers/talot.gpkg", "2025-06-01T10:00:00+00:00")
    for name, ddl in OLD_LAYOUT.items():
        with sqlite3.connect(data_dir / name) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(ddl)
    with sqlite3.connect(data_dir / "catalogue.sqlite") as conn:
        conn.execute("INSERT INTO layers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                     "?)", row)
    comments = [("abcdefghij", "vanha", "2025-06-02T08:00:00.000+00:00", "published",
                 "Puisto jää", "fi", '{"type":"Point","coordinates":[24.95,60.15]}', None,
                 None, "Maija", "maija@example.fi", "key-1"),
                ("bcdefghijk", "vanha", "2025-06-03T09:30:00.000+00:00", "pending",
                 "Tie on liian kapea", "sv", None, "talot", "3", None, None, None)]
    with sqlite3.connect(data_dir / "comments.sqlite") as conn:
        conn.executemany("INSERT INTO webmap_comments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                         "?)", comments)
    with sqlite3.connect(data_dir / "staff.sqlite") as conn:
        conn.execute("INSERT INTO staff_tokens VALUES ('kaavoitus', "
                     "'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', "
                     "'2025-05-01T00:00:00+00:00', NULL)")  # the hash of "test"
        conn.execute("INSERT INTO staff_tokens VALUES ('entinen', 'aa', "
                     "'2025-01-01T00:00:00+00:00', '2025-02-01T00:00:00+00:00')")
    with sqlite3.connect(data_dir / "maps.sqlite") as conn:
        conn.execute("INSERT INTO webmap_maps VALUES ('vanha', ?, 'v1', "
                     "'2025-06-01T00:00:00.000+00:00')", (json.dumps(PUBLISHED),))
        conn.execute("UPDATE webmap_maps_state SET revision = 4")
    return {"comments": comments, "layer": info}


def test_an_old_embedded_installation_is_brought_into_one_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old = old_installation(data_dir)
    env = {"WEBMAP_DATA_DIR": str(data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers"),
           "WEBMAP_DATABASE_URL": "", "WEBMAP_LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(main, ["db", "migrate"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"applied {label}" for label in LABELS] + [
        f"database at {LABELS[-1]}: {len(LABELS)} migrations applied now"]
    for name in OLD_LAYOUT:
        assert not (data_dir / name).exists(), name
        assert not (data_dir / f"{name}-wal").exists(), name
    with open_services(Settings(data_dir=data_dir, layers_dir=ROOT / "layers")) as services:
        info = services.layers.layer("talot")
        assert (info.title, info.attribution, info.feature_count) == ("Talot", "© testi", 7)
        assert services.layers.item(info, 3).ids == [3]
        stored = services.comments.storage.list("vanha")
        assert [(c.id, c.created, c.status, c.text, c.name, c.email, c.feature_id)
                for c in stored] == [(c[0], c[2], c[3], c[4], c[9], c[10], c[8])
                                     for c in old["comments"]]
        assert services.tokens.verify("test") == "kaavoitus"
        assert [(t.name, t.revoked is None) for t in services.tokens.list()] == [
            ("entinen", False), ("kaavoitus", True)]
        assert services.maps.get("vanha").title == {"fi": "Vanha kartta"}
        assert services.maps.is_published("vanha")
        assert services.database.status()[-1].done
    again = CliRunner().invoke(main, ["db", "migrate"], env=env, catch_exceptions=False)
    assert again.stdout == f"nothing to apply: the database is at {LABELS[-1]}\n"


def test_a_failed_copy_leaves_the_old_files_and_an_empty_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old_installation(data_dir)
    (data_dir / "maps.sqlite-wal").unlink(missing_ok=True)
    (data_dir / "maps.sqlite").write_bytes(b"not a database " * 100)  # a damaged file
    with pytest.raises(MigrationError, match="maps.sqlite: its rows cannot be brought"):
        SqliteDatabase(data_dir)
    assert all((data_dir / name).is_file() for name in OLD_LAYOUT)
    with sqlite3.connect(data_dir / "webmap.sqlite") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


# -- the commands --------------------------------------------------------------------------

def run(settings: Settings, *args: str) -> Result:
    env = {"WEBMAP_DATA_DIR": str(settings.data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers"),
           "WEBMAP_DATABASE_URL": settings.database_url or "", "WEBMAP_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, ["db", *args], env=env, catch_exceptions=False)


@pytest.mark.parametrize("settings", ["gpkg"], indirect=True)
def test_db_commands_on_the_embedded_default(settings: Settings) -> None:
    status = run(settings, "status")
    assert status.exit_code == 0
    assert status.stdout.splitlines() == [f"{label}\tpending" for label in LABELS] + [
        f"0 applied, {len(LABELS)} pending"]
    first = run(settings, "init")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [f"applied {label}" for label in LABELS] + [
        f"database at {LABELS[-1]}: {len(LABELS)} migrations applied now"]
    assert (settings.data_dir / "webmap.sqlite").is_file()
    assert run(settings, "init").stdout == f"nothing to apply: the database is at {LABELS[-1]}\n"
    assert run(settings, "migrate").stdout == f"nothing to apply: the database is at {LABELS[-1]}\n"
    assert run(settings, "status").stdout.splitlines() == [
        f"{label}\tapplied" for label in LABELS] + [f"{len(LABELS)} applied, 0 pending"]


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["postgis"], indirect=True)
def test_db_commands_on_postgresql(settings: Settings) -> None:
    status = run(settings, "status")
    assert status.exit_code == 0
    assert status.stdout.splitlines() == [f"{label}\tpending" for label in LABELS] + [
        f"0 applied, {len(LABELS)} pending"]
    first = run(settings, "init")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [f"applied {label}" for label in LABELS] + [
        f"database at {LABELS[-1]}: {len(LABELS)} migrations applied now"]
    assert run(settings, "init").stdout == f"nothing to apply: the database is at {LABELS[-1]}\n"
    assert run(settings, "migrate").stdout == f"nothing to apply: the database is at {LABELS[-1]}\n"
    lines = run(settings, "status").stdout.splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == LABELS
    assert all(line.split("\t")[1].startswith("applied 20") for line in lines[:-1])
    assert lines[-1] == f"{len(LABELS)} applied, 0 pending"


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["postgis"], indirect=True)
def test_db_migrate_brings_an_old_database_up_to_date(settings: Settings) -> None:
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        runner.postgres_upgrade(connection, target=2)
    result = run(settings, "migrate")
    assert result.stdout.splitlines() == [f"applied {label}" for label in LABELS[2:]] + [
        f"database at {LABELS[-1]}: {len(LABELS) - 2} migrations applied now"]


def test_db_migrate_without_a_database_server_fails_on_one_line(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data",
                        database_url="postgresql://webmap:webmap@127.0.0.1:9/nothing")
    result = run(settings, "migrate")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the database cannot be reached")
    assert len(result.stderr.splitlines()) == 1 and "webmap:webmap" not in result.stderr


# -- readiness ----------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["webmap_comments", "webmap_tokens", "webmap_maps_state",
                                   "webmap_layers", "webmap_plans"])
def test_readyz_names_each_part_of_storage_that_is_gone(settings: Settings, app: Any,
                                                        table: str) -> None:
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    with services_of(app).database.transaction(write=True) as conn:
        conn.execute(f"DROP TABLE {table}")
    part = {"webmap_comments": "comments", "webmap_tokens": "staff tokens",
            "webmap_maps_state": "published maps", "webmap_layers": "layers",
            "webmap_plans": "plans"}[table]
    body = assert_problem(client.get("/readyz"), 503)
    assert body["detail"].startswith(f"not ready: {part}: "), body["detail"]

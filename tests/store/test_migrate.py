"""Numbered PostgreSQL migrations and ``webmap db init|migrate|status`` on both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg_pool import ConnectionPool

from tests.conftest import ROOT
from webmap.cli import main
from webmap.comments.storage import PostgresComments
from webmap.search import PostgresIndexes
from webmap.settings import Settings
from webmap.store import migrate
from webmap.store.migrate import MigrationError
from webmap.store.postgis import PostgisStore

TABLES = {"webmap_layers", "webmap_comments", "webmap_search_indexes", "webmap_tokens",
          "webmap_maps", "webmap_maps_state", "webmap_migrations"}
LABELS = ["0001_catalogue", "0002_comments", "0003_search", "0004_tokens", "0005_maps"]


def test_migration_files_are_numbered_without_gaps() -> None:
    assert [m.label for m in migrate.migrations()] == LABELS


def test_a_gap_or_a_bad_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    (tmp_path / "0003_third.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="0003_third.sql: expected migration 0002"):
        migrate.migrations(tmp_path)
    (tmp_path / "0003_third.sql").rename(tmp_path / "2-second.sql")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        migrate.migrations(tmp_path)


@pytest.fixture
def conn(postgis_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh, empty schema."""
    with psycopg.connect(postgis_url, autocommit=True) as connection:
        yield connection


def tables(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}


def columns(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
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
    assert [s.applied for s in migrate.status(conn)] == [None] * len(LABELS)
    ran = migrate.upgrade(conn)
    assert [m.label for m in ran] == LABELS
    assert tables(conn) == TABLES
    recorded = conn.execute("SELECT version, name FROM webmap_migrations ORDER BY version")
    assert [f"{v:04d}_{n}" for v, n in recorded] == LABELS
    assert migrate.is_current(conn)
    before = columns(conn)
    assert migrate.upgrade(conn) == []  # a no-op
    assert columns(conn) == before
    assert conn.execute("SELECT revision FROM webmap_maps_state").fetchall() == [(0,)]


@pytest.mark.postgis
def test_an_old_database_gets_the_rest(conn: psycopg.Connection[Any]) -> None:
    assert [m.label for m in migrate.upgrade(conn, target=1)] == ["0001_catalogue"]
    assert tables(conn) == {"webmap_layers", "webmap_migrations"}
    assert not migrate.is_current(conn)
    states = migrate.status(conn)
    assert [s.applied is not None for s in states] == [True, False, False, False, False]
    assert [m.label for m in migrate.upgrade(conn)] == LABELS[1:]
    assert tables(conn) == TABLES


@pytest.mark.postgis
@pytest.mark.parametrize("component", ["store", "comments", "search"])
def test_each_component_migrates_a_fresh_schema_on_first_use(postgis_url: str, tmp_path: Path,
                                                             component: str) -> None:
    """The migrations are the one definition of the tables: whichever part of webmap touches
    an empty schema first brings it to the latest migration, and the others find it done."""

    def use(part: str) -> None:
        if part == "store":
            PostgisStore(postgis_url, data_dir=tmp_path / "pg", max_size=2).close()
        elif part == "comments":
            PostgresComments(pool).ping()
        else:
            PostgresIndexes(pool).handles("nothing")

    with ConnectionPool(postgis_url, min_size=1, max_size=2, open=True,
                        kwargs={"autocommit": True}) as pool:
        with pool.connection() as fresh:
            assert tables(fresh) == set()
        use(component)
        with pool.connection() as made:
            assert tables(made) == TABLES
            assert [s.applied is not None for s in migrate.status(made)] == [True] * len(LABELS)
            before = columns(made)
        for part in ("store", "comments", "search"):
            use(part)
        with pool.connection() as again:
            assert columns(again) == before
            assert migrate.upgrade(again) == []


@pytest.mark.postgis
def test_two_hosts_migrating_at_once(postgis_url: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            with psycopg.connect(postgis_url, autocommit=True) as connection:
                start.wait()
                results.append([m.label for m in migrate.upgrade(connection)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
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
        migrate.upgrade(conn, directory=tmp_path)
    assert tables(conn) == {"first", "webmap_migrations"}
    assert conn.execute("SELECT version FROM webmap_migrations").fetchall() == [(1,)]
    # the lock was released: another run gets as far again
    with pytest.raises(MigrationError):
        migrate.upgrade(conn, directory=tmp_path)


def run(settings: Settings, *args: str) -> Result:
    env = {"WEBMAP_DATA_DIR": str(settings.data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers"),
           "WEBMAP_DATABASE_URL": settings.database_url or "", "WEBMAP_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, ["db", *args], env=env, catch_exceptions=False)


@pytest.mark.parametrize("settings", ["gpkg"], indirect=True)
def test_db_commands_on_the_embedded_default(settings: Settings) -> None:
    status = run(settings, "status")
    assert status.exit_code == 0 and status.stdout.count("\tmissing") == 4
    first = run(settings, "init")
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[:4] == [f"{settings.data_dir / name} ({holds}): created" for name, holds in (
        ("catalogue.sqlite", "layer catalogue"), ("comments.sqlite", "comments"),
        ("staff.sqlite", "staff tokens"), ("maps.sqlite", "published maps"))]
    assert "embedded storage ready" in lines[4]
    assert all((settings.data_dir / name).is_file() for name in (
        "catalogue.sqlite", "comments.sqlite", "staff.sqlite", "maps.sqlite"))
    again = run(settings, "init")
    assert again.exit_code == 0 and again.stdout.count("already there") == 4
    assert run(settings, "status").stdout.count("\tpresent") == 4
    migrated = run(settings, "migrate")
    assert migrated.exit_code == 0 and "nothing to migrate" in migrated.stdout


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["postgis"], indirect=True)
def test_db_commands_on_postgresql(settings: Settings) -> None:
    status = run(settings, "status")
    assert status.exit_code == 0
    assert status.stdout.splitlines() == [f"{label}\tpending" for label in LABELS] + [
        "0 applied, 5 pending"]
    first = run(settings, "init")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [f"applied {label}" for label in LABELS] + [
        "database at 0005_maps: 5 migrations applied now"]
    assert run(settings, "init").stdout == "nothing to apply: the database is at 0005_maps\n"
    assert run(settings, "migrate").stdout == "nothing to apply: the database is at 0005_maps\n"
    lines = run(settings, "status").stdout.splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == LABELS
    assert all(line.split("\t")[1].startswith("applied 20") for line in lines[:-1])
    assert lines[-1] == "5 applied, 0 pending"


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["postgis"], indirect=True)
def test_db_migrate_brings_an_old_database_up_to_date(settings: Settings) -> None:
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        migrate.upgrade(connection, target=2)
    result = run(settings, "migrate")
    assert result.stdout.splitlines() == ["applied 0003_search", "applied 0004_tokens",
                                          "applied 0005_maps",
                                          "database at 0005_maps: 3 migrations applied now"]


def test_db_migrate_without_a_database_server_fails_on_one_line(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data",
                        database_url="postgresql://webmap:webmap@127.0.0.1:9/nothing")
    result = run(settings, "migrate")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the database cannot be reached")
    assert len(result.stderr.splitlines()) == 1 and "webmap:webmap" not in result.stderr

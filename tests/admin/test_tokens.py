"""Staff tokens behave the same in SQLite and in PostgreSQL (``webmap_tokens`` in each)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import assert_problem
from webmap.cli import main
from webmap.problems import Conflict, NotFound, Problem
from webmap.services import services_of
from webmap.settings import Settings


def test_the_database_follows_the_settings(settings: Settings, app: Any) -> None:
    records = services_of(app).tokens
    assert records.database.dialect == ("postgres" if settings.database_url else "sqlite")


def test_create_verify_list_revoke(app: Any) -> None:
    records = services_of(app).tokens
    first = records.create("kaavoitus")
    second = records.create("Liisa L. @ GIS")
    assert first != second and len(first) >= 40
    assert records.verify(first) == "kaavoitus"
    assert records.verify(second) == "Liisa L. @ GIS"
    assert records.verify("x" + first) is None and records.verify("") is None
    assert records.verify("a" * 300) is None
    with pytest.raises(Conflict, match="kaavoitus"):
        records.create("kaavoitus")
    with pytest.raises(Problem, match="1-64"):
        records.create("-bad name")
    with pytest.raises(Problem, match="1-64"):
        records.create("a/b")
    comma = records.create("Anna, kaavoitus")  # the README's example
    assert records.verify(comma) == "Anna, kaavoitus"
    records.revoke("Anna, kaavoitus")
    records.revoke("kaavoitus")
    assert records.verify(first) is None
    listed = {info.name: info for info in records.list()}
    assert list(listed) == ["Anna, kaavoitus", "Liisa L. @ GIS", "kaavoitus"]
    assert listed["kaavoitus"].revoked and listed["kaavoitus"].created[:4].isdigit()
    assert listed["Liisa L. @ GIS"].revoked is None
    with pytest.raises(NotFound):
        records.revoke("kaavoitus")  # already revoked
    with pytest.raises(Conflict):
        records.create("kaavoitus")  # the record stays for the audit trail


def test_cli_tokens_work_with_the_staff_api(settings: Settings, app: Any) -> None:
    env = {"WEBMAP_DATA_DIR": str(settings.data_dir),
           "WEBMAP_DATABASE_URL": settings.database_url or "", "WEBMAP_LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    created = runner.invoke(main, ["tokens", "create", "kirjaamo"], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/admin/api/layers", headers=headers).status_code == 200
    listed = runner.invoke(main, ["tokens", "list"], env=env)
    assert listed.stdout.split("\t")[0] == "kirjaamo" and listed.stdout.strip().endswith(
        "active")
    assert runner.invoke(main, ["tokens", "revoke", "kirjaamo"], env=env).exit_code == 0
    assert_problem(client.get("/admin/api/layers", headers=headers), 401)
    again = runner.invoke(main, ["tokens", "revoke", "kirjaamo"], env=env)
    assert again.exit_code == 2 and "no active token" in again.stderr

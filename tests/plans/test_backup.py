"""``webmap export-all`` / ``import-all`` carry plans: the plan comes back with its layers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.plans.conftest import DP225
from webmap.backup import BackupFailed, export_all, import_all
from webmap.services import Services
from webmap.settings import Settings


def test_a_plan_survives_export_and_import(settings: Settings, tmp_path: Path, shared: Path,
                                           make_services: Callable[[Settings], Services]
                                           ) -> None:
    before = make_services(settings)
    before.plans.import_plan(shared / DP225, "mora")
    manifest = export_all(before.layers, tmp_path / "export", plans=before.plans.storage)
    assert manifest["plans"] == [{"id": "mora", "model": "ngp", "file": "plans/mora.json"}]
    target = make_services(Settings(data_dir=tmp_path / "restored"))
    import_all(target.layers, tmp_path / "export", plans=target.plans.storage)
    restored = target.plans.plan("mora")
    assert restored.definition == before.plans.plan("mora").definition
    assert target.plans.source("mora") == json.loads((shared / DP225).read_text("utf-8"))
    assert target.layers.layer("mora-areas").feature_count == 11


def test_a_tampered_plan_entry_is_refused(settings: Settings, tmp_path: Path, shared: Path,
                                          make_services: Callable[[Settings], Services]
                                          ) -> None:
    services = make_services(settings)
    services.plans.import_plan(shared / DP225, "mora")
    export_all(services.layers, tmp_path / "export", plans=services.plans.storage)
    manifest_path = tmp_path / "export" / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["plans"][0]["file"] = "plans/../../etc/passwd"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    target = make_services(Settings(data_dir=tmp_path / "restored"))
    with pytest.raises(BackupFailed, match="not under plans/"):
        import_all(target.layers, tmp_path / "export", plans=target.plans.storage)

"""Importing a plan through the services, on both backends: its objects become layers whose
features carry the regulations, the plan is stored, a re-import replaces, a bad file writes
nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.plans.conftest import DP225, KOHDISTUS, RYHTI_PLANS
from webmap.plans.service import PlanNotFound
from webmap.problems import ImportFailed, LayerNotFound
from webmap.services import Services
from webmap.settings import Settings
from webmap.types import ItemQuery


@pytest.fixture
def services(settings: Settings, make_services: Callable[[Settings], Services]) -> Services:
    return make_services(settings)


def test_ryhti_plan_imports_as_layers_and_a_plan(services: Services, shared: Path) -> None:
    report = services.plans.import_plan(shared / KOHDISTUS, "kohdistus", municipality="601")
    assert (report.model, report.source_crs, report.objects) == ("ryhti", "EPSG:3880", 3)
    assert (report.groups, report.regulations, report.relations) == (6, 8, 7)
    (layer,) = report.layers
    assert layer.layer_id == "kohdistus-areas" and layer.feature_count == 3
    info = services.layers.layer("kohdistus-areas")
    assert info.source_crs == "EPSG:3880"
    page = services.layers.items(info, ItemQuery(limit=10))
    by_key = {p["object_key"]: p for p in page.properties}
    main = by_key["c4667f08-4a3b-4113-ace8-cce749facbba"]
    assert (main["letter_code"], main["marking"]) == ("AL", "AL")
    assert main["title_fi"] == "Asuin-, liike- ja toimistorakennusten alue"
    groups = json.loads(main["regulations"])
    assert [r["kind"]["code"] for r in groups[0]["regulations"]] == [
        "asumisenAlue", "liikerakennustenAlue", "toimistorakennustenAlue"]
    assert "Residential area" in main["text_en"]
    stored = services.plans.plan("kohdistus")
    definition = stored.definition
    assert definition["municipality"] == "601"
    assert definition["status"]["label"]["fi"] == "Kaavaehdotus"
    assert definition["boundary"]["type"] == "Polygon"
    assert definition["layers"] == [{"id": "kohdistus-areas", "kind": "area",
                                     "feature_count": 3, "style": "kaava-alueet"}]
    assert len(definition["groups"]) == 6
    assert [p.id for p in services.plans.plans()] == ["kohdistus"]
    source = json.loads((shared / KOHDISTUS).read_text(encoding="utf-8"))
    assert services.plans.source("kohdistus") == source, "the source document is kept as is"


def test_ngp_plan_imports_areas_and_lines(services: Services, shared: Path) -> None:
    report = services.plans.import_plan(shared / DP225, "mora-dp225")
    assert (report.model, report.source_crs) == ("ngp", "EPSG:3009")
    assert sorted((r.layer_id, r.feature_count) for r in report.layers) == [
        ("mora-dp225-areas", 11), ("mora-dp225-lines", 1)]
    assert any("code lists" in w for w in report.warnings)
    lines = services.layers.items(services.layers.layer("mora-dp225-lines"), ItemQuery())
    assert lines.properties[0]["text_sv"] == "Utfartsförbud"
    definition = services.plans.plan("mora-dp225").definition
    assert definition["name"] == {"sv": "GUTTORMSENPARKEN, ÄNDR"}
    assert definition["identifier"] == "DP225"


def test_ngp_use_is_lettered_and_coloured_as_boverkets_catalogue_says(
        services: Services, shared: Path) -> None:
    """DP225's use provision (Gruppboende, kvartersmark, kategori bostäder) references a
    catalogue entry webmap does not ship; the catalogue letters and colours every housing use
    alike (B, yellow), and the areas are drawn with the Boverket style."""
    services.plans.import_plan(shared / DP225, "mora-dp225")
    areas = services.layers.items(services.layers.layer("mora-dp225-areas"), ItemQuery())
    uses = [p for p in areas.properties if p["letter_code"]]
    assert [(p["letter_code"], p["marking"], p["colour"], p["text_sv"]) for p in uses] == [
        ("B", "B", "Gul", "B — Gruppboende")]
    layers = services.plans.plan("mora-dp225").definition["layers"]
    assert {la["id"]: la["style"] for la in layers} == {
        "mora-dp225-areas": "detaljplan-omraden", "mora-dp225-lines": None}


def test_reimport_replaces_and_removes_layers_it_no_longer_has(services: Services,
                                                               shared: Path) -> None:
    services.plans.import_plan(shared / DP225, "plan")
    assert services.layers.layer("plan-lines").feature_count == 1
    report = services.plans.import_plan(shared / KOHDISTUS, "plan")
    assert [r.layer_id for r in report.layers] == ["plan-areas"]
    assert services.layers.layer("plan-areas").feature_count == 3
    with pytest.raises(LayerNotFound):
        services.layers.layer("plan-lines")
    assert services.plans.plan("plan").model == "ryhti"


def test_a_bad_file_writes_nothing(services: Services, shared: Path, tmp_path: Path) -> None:
    services.plans.import_plan(shared / KOHDISTUS, "plan")
    document = json.loads((shared / KOHDISTUS).read_text(encoding="utf-8"))
    del document["planObjects"][2]["geometry"]["srid"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    before = services.layers.layer("plan-areas").version
    with pytest.raises(ImportFailed, match="without 'srid'"):
        services.plans.import_plan(bad, "plan")
    with pytest.raises(ImportFailed, match="plan id"):
        services.plans.import_plan(shared / KOHDISTUS, "Bad Id")
    assert services.layers.layer("plan-areas").version == before
    assert [p.id for p in services.plans.plans()] == ["plan"]


def test_remove_takes_the_layers_too(services: Services, shared: Path) -> None:
    services.plans.import_plan(shared / DP225, "plan")
    services.plans.remove("plan")
    with pytest.raises(PlanNotFound):
        services.plans.plan("plan")
    with pytest.raises(LayerNotFound):
        services.layers.layer("plan-areas")


def test_every_ryhti_plan_imports(services: Services, shared: Path) -> None:
    for number, name in enumerate(RYHTI_PLANS):
        report = services.plans.import_plan(shared / name, f"p{number}")
        assert sum(r.feature_count for r in report.layers) == report.objects
    assert len(services.plans.plans()) == len(RYHTI_PLANS)


def test_a_comment_on_a_plan_area_exports_its_letter_code(
        settings: Settings, make_services: Callable[[Settings], Services], shared: Path,
        tmp_path: Path) -> None:
    """Even where the map shows only the area's name, the export names the letter code the
    resident commented on."""
    from dataclasses import replace

    from webmap.comments.export import csv_bytes

    definition = json.loads((settings.layers_dir / "maps" / "ryhti-testikaava.json")
                            .read_text(encoding="utf-8"))
    definition["layers"][0]["attributes"] = []
    (tmp_path / "layers" / "maps").mkdir(parents=True)
    (tmp_path / "layers" / "maps" / "ryhti-testikaava.json").write_text(
        json.dumps(definition), encoding="utf-8")
    services = make_services(replace(settings, layers_dir=tmp_path / "layers"))
    services.plans.import_plan(shared / KOHDISTUS, "ryhti-testikaava")
    areas = services.layers.items(services.layers.layer("ryhti-testikaava-areas"), ItemQuery())
    lettered = next(i for i, p in enumerate(areas.properties) if p["letter_code"])
    feature_id = str(areas.ids[lettered])
    receipt = services.comments.submit("ryhti-testikaava", {
        "text": "Liian korkea", "language": "fi",
        "feature": {"collection": "ryhti-testikaava-areas", "id": feature_id}})
    comment = services.comments.storage.get(receipt.id)
    rows = csv_bytes([comment], delimiter=";").decode("utf-8-sig").splitlines()
    header, row = rows[0].split(";"), rows[1].split(";")
    assert row[header.index("feature_code")] == areas.properties[lettered]["letter_code"]

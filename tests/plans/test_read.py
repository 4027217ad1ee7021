"""Every national-model plan in the shared data reads into the plan model, with the counts a
straight walk of its JSON gives, and bad files are refused naming the problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import shapely

from tests.plans.conftest import DP225, KOHDISTUS, NGP_FILES, PLOT_DIVISIONS, RYHTI_PLANS
from webmap.plans.layers import marking, plan_layers
from webmap.plans.read import read_document, read_plan
from webmap.plans.text import groups_text
from webmap.problems import ImportFailed


def ryhti_plan_json(document: dict[str, Any]) -> dict[str, Any]:
    """The plan of a SpatialPlan or of the last phase of a plan matter."""
    if "planMatterPhases" in document:
        return [p for phase in document["planMatterPhases"]
                for p in phase.get("planDecision", {}).get("plans", [])][-1]
    return document


@pytest.mark.parametrize("name", RYHTI_PLANS)
def test_ryhti_plan_counts_equal_a_walk_of_the_json(shared: Path, name: str) -> None:
    document = json.loads((shared / name).read_text(encoding="utf-8"))
    raw = ryhti_plan_json(document)
    plan = read_plan(shared / name, plan_id="p")
    assert plan.model == "ryhti"
    assert plan.source_key == raw["planKey"]
    assert len(plan.objects) == len(raw["planObjects"])
    assert {o.key for o in plan.objects} == {o["planObjectKey"] for o in raw["planObjects"]}
    assert len(plan.groups) == len(raw["planRegulationGroups"])
    general = raw.get("generalRegulationGroups", [])
    assert len(plan.general) == len(general)
    walked = sum(len(g.get("planRegulations", []))
                 for g in raw["planRegulationGroups"] + general)
    assert plan.regulation_count == walked
    assert plan.relations == len(raw["planRegulationGroupRelations"])
    assert sum(len(o.groups) for o in plan.objects) == len(raw["planRegulationGroupRelations"])
    srids = {o["geometry"]["srid"] for o in raw["planObjects"]}
    assert plan.crs in {f"EPSG:{s}" for s in srids}
    assert plan.status is not None and plan.status.uri == raw["lifeCycleStatus"]
    assert plan.status.label["en"], "the life-cycle status has a label from the code list"
    assert plan.boundary is not None and plan.boundary.is_valid


def test_ryhti_regulation_values_units_and_texts(shared: Path) -> None:
    plan = read_plan(shared / KOHDISTUS, plan_id="p")
    by_title = {g.title["fi"]: g for g in plan.groups.values()}
    main = by_title["Asuin-, liike- ja toimistorakennusten alue"]
    assert main.letter_code == "AL"
    assert [r.kind.code for r in main.regulations] == [
        "asumisenAlue", "liikerakennustenAlue", "toimistorakennustenAlue"]
    assert main.regulations[0].kind.label["sv"] == "Område för boende"
    assert main.regulations[0].additions[0].kind.code == "paakayttotarkoitus"
    storeys = by_title["Maanpäällinen kerrosluku: X"].regulations[0]
    assert (storeys.values[0].data_type, storeys.values[0].number) == ("PositiveNumeric", 10)
    floor = [r for g in plan.groups.values() for r in g.regulations
             if r.kind.code == "sallittuKerrosala"]
    assert {(v.number, v.unit) for r in floor for v in r.values} == {(4000, "k-m2"),
                                                                    (6000, "k-m2")}
    area = next(o for o in plan.objects if o.key == "c4667f08-4a3b-4113-ace8-cce749facbba")
    groups = [plan.groups[k] for k in area.groups]
    assert groups_text(groups, "fi").startswith(
        "AL — Asuin-, liike- ja toimistorakennusten alue: Asumisen alue; Liikerakennusten alue")
    assert "Commercial buildings" in groups_text(groups, "en")


def test_ryhti_general_regulations_and_verbal_text(shared: Path) -> None:
    name = next(n for n in RYHTI_PLANS if n.endswith("rakentamistapaohjeHuomioitava.json"))
    raw = json.loads((shared / name).read_text(encoding="utf-8"))
    plan = read_plan(shared / name, plan_id="p")
    (general,) = plan.general
    source = raw["generalRegulationGroups"][0]
    assert general.key == source["generalRegulationGroupKey"]
    assert general.title["fi"] == source["titleOfPlanRegulation"]["fin"]
    (regulation,) = general.regulations
    assert regulation.verbal["fi"] == source["planRegulations"][0]["value"]["text"]["fin"]


def test_ngp_counts_by_feature_type(shared: Path) -> None:
    document = json.loads((shared / DP225).read_text(encoding="utf-8"))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for feature in document["features"]:
        by_type.setdefault(feature["properties"]["feature:typ"], []).append(
            feature["properties"])
    plan = read_plan(shared / DP225, plan_id="mora")
    assert plan.model == "ngp"
    assert plan.crs == "EPSG:3009"
    provisions = by_type["användningsbestämmelse"] + by_type["egenskapsbestämmelse"]
    assert len(plan.groups) == len(provisions) == 12
    assert len(plan.general) == len(by_type.get("administrativ bestämmelse", [])) == 0
    assert len(plan.objects) == sum(len(p["bestammelsegeometri"]) for p in provisions)
    assert plan.regulation_count == len(provisions)
    assert plan.relations == sum(len(p.get("reglerarAnvandningsbestammelse", []))
                                 for p in provisions)
    (detaljplan,) = by_type["detaljplan"]
    assert plan.name == {"sv": detaljplan["namn"]}
    assert (plan.municipality, plan.identifier) == ("Mora", "DP225")
    assert plan.status is not None and plan.status.label["en"] == "In force"
    assert plan.dates["approvalDate"] == "1992-08-31"
    kinds = sorted(o.kind for o in plan.objects)
    assert kinds == ["area"] * 11 + ["line"]
    minx, miny, maxx, maxy = plan.boundary.bounds
    assert 100_000 < minx < maxx < 200_000 and 6_700_000 < miny < maxy < 6_800_000


def test_ngp_values_and_catalogue_reference(shared: Path) -> None:
    plan = read_plan(shared / DP225, plan_id="mora")
    regulations = {r.verbal["sv"]: r for g in plan.groups.values() for r in g.regulations}
    area = regulations["Största byggnadsarea är 500 m²."].values[0]
    assert (area.number, area.unit, area.qualifier) == (500.0, "kvadratmeter", "max")
    exit_ban = regulations["Utfartsförbud"].kind
    assert exit_ban.uri == "623a21a0-5d27-4b55-889f-b0841409894d"
    assert exit_ban.code == "DP_KM_Eg_StangselUtfart_Utfart_UtfartForbud"
    assert exit_ban.label == {"sv": "Utfartsförbud"}
    unknown = next(w for w in plan.warnings if "code lists" in w)
    assert unknown.startswith("9 codes"), "nine references are not in the shipped excerpt"


@pytest.mark.parametrize("name", PLOT_DIVISIONS)
def test_plot_division_is_refused_clearly(shared: Path, name: str) -> None:
    with pytest.raises(ImportFailed, match="binding plot division.*not a plan"):
        read_plan(shared / name, plan_id="p")


@pytest.mark.parametrize("name", RYHTI_PLANS + NGP_FILES)
def test_every_plan_becomes_valid_layers_in_crs84(shared: Path, name: str) -> None:
    plan = read_plan(shared / name, plan_id="p")
    layers = plan_layers(plan)
    assert sum(layer.report.feature_count for layer in layers.values()) == len(plan.objects)
    for kind, layer in layers.items():
        frame = layer.frame
        assert layer.report.layer_id == f"p-{kind}s"
        assert layer.report.source_crs == plan.crs
        assert shapely.is_valid(frame.geometry.values).all()
        minx, miny, maxx, maxy = layer.report.bbox
        assert 10 < minx <= maxx < 32 and 55 < miny <= maxy < 71
        for row in frame.itertuples():
            groups = json.loads(row.regulations)
            assert [g["key"] for g in groups] == list(
                next(o for o in plan.objects if o.key == row.object_key).groups)


def test_marking_is_the_letter_codes_capitals() -> None:
    assert [marking(c) for c in ("AK-1", "AO/s", "VL", "ma", None)] == [
        "AK", "AO", "VL", None, None]


def broken(shared: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared / name).read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def test_bad_files_are_refused_naming_the_problem(shared: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"planKey": "x", ', encoding="utf-8")
    with pytest.raises(ImportFailed, match="not valid JSON"):
        read_plan(bad, plan_id="p")
    bad.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(ImportFailed, match="no plan model webmap knows"):
        read_plan(bad, plan_id="p")
    document = broken(shared, KOHDISTUS)
    key = document["planObjects"][1]["planObjectKey"]
    del document["planObjects"][1]["geometry"]["srid"]
    with pytest.raises(ImportFailed, match=f"plan object {key} has a geometry without 'srid'"):
        read_document(document, plan_id="p")


def test_relations_pointing_nowhere_and_bare_objects_are_warned(shared: Path) -> None:
    document = broken(shared, KOHDISTUS)
    document["planRegulationGroupRelations"][0]["planRegulationGroupKey"] = "missing-group"
    plan = read_document(document, plan_id="p")
    assert any("1 regulation group relations point to" in w and "missing-group" in w
               for w in plan.warnings)
    assert any("1 plan objects have no regulations" in w for w in plan.warnings)


def test_ngp_multi_geometry_and_dangling_use_reference_are_warned(shared: Path) -> None:
    document = broken(shared, DP225)
    feature = next(f for f in document["features"]
                   if f["properties"]["feature:typ"] == "egenskapsbestämmelse"
                   and f["properties"]["bestammelsegeometri"][0]["geometri"]["typ"] == "yta")
    entry = feature["properties"]["bestammelsegeometri"][0]["geometri"]
    entry["position"] = {"type": "MultiPolygon", "coordinates": [entry["position"]["coordinates"]]}
    feature["properties"]["reglerarAnvandningsbestammelse"] = ["no-such-use"]
    plan = read_document(document, plan_id="p")
    assert any(feature["id"] in w and "single part only" in w for w in plan.warnings)
    assert any("no-such-use" in w for w in plan.warnings)

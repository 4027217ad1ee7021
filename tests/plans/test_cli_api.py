"""``webmap plans import|list|show|export|remove``, the staff upload ``/admin/api/plans`` and
the public ``GET /plans``, ``GET /plans/{id}`` — on both backends."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import ROOT, assert_problem
from tests.plans.conftest import DP225, KOHDISTUS, RYHTI_PLANS
from webmap.cli import main
from webmap.services import services_of
from webmap.settings import Settings


@pytest.fixture
def webmap(settings: Settings) -> Any:
    """``webmap(*args)`` runs the command in-process on the settings' backend."""
    env = {"WEBMAP_DATA_DIR": str(settings.data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers"),
           "WEBMAP_STYLES_DIR": str(ROOT / "styles"),
           "WEBMAP_DATABASE_URL": settings.database_url or "", "WEBMAP_LOG_LEVEL": "WARNING"}

    def run(*args: str | Path) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    return run


def test_cli_import_show_export_remove(webmap: Any, shared: Path, tmp_path: Path) -> None:
    result = webmap("plans", "import", shared / KOHDISTUS, "--id", "kohdistus",
                    "--name", "Testiasemakaava", "--municipality", "601")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "imported plan kohdistus: ryhti, 3 objects, 6 regulation groups, 8 regulations, "
        "0 general regulation groups, 7 relations, from EPSG:3880\n"
        "imported kohdistus-areas: vector, 3 features (Polygon) from EPSG:3880\n")
    listed = webmap("plans", "list")
    assert listed.stdout == "kohdistus\tryhti\t601\tPlan proposal\tTestiasemakaava\n"
    shown = webmap("plans", "show", "kohdistus", "--lang", "en").stdout
    assert "status: Plan proposal" in shown
    assert ("  - AL — Asuin-, liike- ja toimistorakennusten alue: Residential area; "
            "Commercial buildings; Office buildings\n") in shown
    assert "Permitted floor area: 6,000\u00a0k-m²" in shown
    fi = webmap("plans", "show", "kohdistus").stdout
    assert "Sallittu kerrosala: 6\u00a0000\u00a0k-m²" in fi
    document = json.loads(webmap("plans", "show", "kohdistus", "--json").stdout)
    assert document["municipality"] == "601"
    out = tmp_path / "back.json"
    assert webmap("plans", "export", "kohdistus", "--output", out).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(
        (shared / KOHDISTUS).read_text(encoding="utf-8"))
    assert webmap("plans", "remove", "kohdistus").stdout == "removed plan kohdistus\n"
    missing = webmap("plans", "show", "kohdistus")
    assert missing.exit_code == 2
    assert missing.stderr == "error: there is no plan 'kohdistus'; GET /plans lists them\n"


def test_cli_refuses_a_bad_file_on_one_line(webmap: Any, tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"planKey": ', encoding="utf-8")
    result = webmap("plans", "import", bad, "--id", "p")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: plan.json is not valid JSON (line 1")
    assert result.stderr.count("\n") == 1


@pytest.fixture
def token(app: Any) -> str:
    return str(services_of(app).tokens.create("gis-staff"))


def upload(path: Path, **form: str) -> dict[str, Any]:
    return {"file": (io.BytesIO(path.read_bytes()), path.name), **form}


def test_staff_upload_then_public_plan(app: Any, client: Any, token: str, shared: Path) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert_problem(client.post("/admin/api/plans", data=upload(shared / DP225, id="mora")), 401)
    created = client.post("/admin/api/plans", headers=headers,
                          data=upload(shared / DP225, id="mora"))
    assert created.status_code == 201, created.get_data(as_text=True)
    report = created.get_json()["report"]
    assert (report["model"], report["source_crs"], report["objects"]) == ("ngp", "EPSG:3009", 12)
    assert created.headers["Location"].endswith("/plans/mora")
    again = client.post("/admin/api/plans", headers=headers,
                        data=upload(shared / DP225, id="mora"))
    assert_problem(again, 409, mentions="PUT /admin/api/plans/mora")
    replaced = client.put("/admin/api/plans/mora", headers=headers,
                          data=upload(shared / DP225))
    assert replaced.status_code == 200
    listed = client.get("/plans").get_json()["plans"]
    assert [(p["id"], p["municipality"], p["identifier"]) for p in listed] == [
        ("mora", "Mora", "DP225")]
    plan = client.get("/plans/mora").get_json()
    assert plan["name"] == {"sv": "GUTTORMSENPARKEN, ÄNDR"}
    assert plan["status"]["label"]["en"] == "In force"
    assert plan["counts"]["objects"] == 12
    groups = {g["title"]["sv"]: g for g in plan["regulation_groups"]}
    area = groups["Största byggnadsarea är 500 m²."]["regulations"][0]
    assert area["values"][0] == {"type": "decimaltal", "number": 500.0, "unit": "kvadratmeter",
                                 "qualifier": "max", "description": "exploatering"}
    assert area["text"]["sv"] == "Största byggnadsarea är 500 m²."
    exit_ban = groups["Utfartsförbud"]["regulations"][0]["kind"]
    assert exit_ban["code"] == "DP_KM_Eg_StangselUtfart_Utfart_UtfartForbud"
    items = [link["href"] for link in plan["links"] if link["rel"] == "items"]
    assert sorted(h.rsplit("/collections/", 1)[1] for h in items) == [
        "mora-areas/items", "mora-lines/items"]
    features = client.get("/collections/mora-lines/items").get_json()["features"]
    assert features[0]["properties"]["text_sv"] == "Utfartsförbud"
    assert json.loads(features[0]["properties"]["regulations"])[0]["title"] == {
        "sv": "Utfartsförbud"}
    assert client.delete("/admin/api/plans/mora", headers=headers).status_code == 204
    assert_problem(client.get("/plans/mora"), 404)
    assert_problem(client.get("/collections/mora-areas"), 404)


def test_staff_upload_of_a_bad_plan_is_a_problem(client: Any, token: str, tmp_path: Path,
                                                 shared: Path) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert_problem(client.post("/admin/api/plans", headers=headers,
                               data=upload(shared / DP225)), 400, mentions="id")
    bad = tmp_path / "x.json"
    bad.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    assert_problem(client.post("/admin/api/plans", headers=headers,
                               data=upload(bad, id="x")), 422, mentions="no plan model")
    assert client.get("/plans").get_json()["plans"] == []


def test_plan_areas_are_filtered_with_cql2(client: Any, app: Any, shared: Path) -> None:
    services_of(app).plans.import_plan(shared / KOHDISTUS, "kohdistus")
    found = client.get("/collections/kohdistus-areas/items",
                       query_string={"filter": "letter_code LIKE 'A%'", "filter-lang": "cql2-text"})
    assert found.status_code == 200, found.get_data(as_text=True)
    features = found.get_json()["features"]
    assert [f["properties"]["title_fi"] for f in features] == [
        "Asuin-, liike- ja toimistorakennusten alue"]
    text = client.get("/collections/kohdistus-areas/items",
                      query_string={"filter": "text_en LIKE '%Permitted floor area%'"})
    assert len(text.get_json()["features"]) == 2


def test_general_regulations_are_served_with_their_text(client: Any, app: Any,
                                                        shared: Path) -> None:
    name = next(n for n in RYHTI_PLANS if n.endswith("rakentamistapaohjeHuomioitava.json"))
    source = json.loads((shared / name).read_text(encoding="utf-8"))
    services_of(app).plans.import_plan(shared / name, "ohje")
    plan = client.get("/plans/ohje").get_json()
    (group,) = plan["general_regulations"]
    (regulation,) = group["regulations"]
    text = source["generalRegulationGroups"][0]["planRegulations"][0]["value"]["text"]["fin"]
    assert regulation["text"]["fi"] == text
    assert regulation["text"]["en"] == text, "the plan's only text, in Finnish"
    assert regulation["text_lang"] == {"fi": "fi", "sv": "fi", "en": "fi"}


def test_plans_as_html(client: Any, app: Any, shared: Path) -> None:
    services_of(app).plans.import_plan(shared / DP225, "mora")
    listing = client.get("/plans", query_string={"f": "html"})
    assert listing.status_code == 200 and listing.mimetype == "text/html"
    assert '<span lang="sv">GUTTORMSENPARKEN, ÄNDR</span>' in listing.get_data(as_text=True)
    page = client.get("/plans/mora", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<dt>Status</dt><dd>In force</dd>" in page
    assert '<li lang="sv">Största byggnadsarea är 500 m².</li>' in page
    assert 'href="/collections/mora-lines"' in page

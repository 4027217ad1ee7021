"""Publishing maps through the staff API: PUT/DELETE /admin/api/maps/{id}, on both backends."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, assert_problem, close_app, make_buildings, open_app
from webmap.maps import MapRegistry
from webmap.services import services_of
from webmap.settings import Settings
from webmap.types import ImportReport, LayerKind, NormalisedLayer

MAP: dict[str, Any] = {
    "title": {"fi": "Kaavaehdotus", "sv": "Planförslag", "en": "Plan proposal"},
    "extent": [24.93, 60.16, 24.96, 60.18],
    "base": {"type": "rendered", "basemap": "helsinki"},
    "layers": [{"layer": "alueet", "style": "districts", "plan": True, "label": "name"}],
    "consultation": {"geometry": ["point", "feature"]},
    "origins": ["https://e-palvelu.example.fi"],
}
FILE_MAP = {"id": "tiedosto", "title": {"en": "From a file"}, "extent": [24.9, 60.1, 25.0, 60.2],
            "base": {"type": "rendered", "basemap": "helsinki"}}
FAINT_STYLE = {
    "id": "haalea", "geometry": "polygon", "title": {"en": "Faint"},
    "classes": [{"id": "faint", "fill": None, "stroke": "#f4f4f4", "stroke_width": 1,
                 "dash": None, "pattern": "none", "legend": {"en": "Faint"}}],
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_vector(app: Any, layer_id: str) -> None:
    """A small polygon layer, as an import would leave it."""
    frame = make_buildings(20)
    report = ImportReport(layer_id=layer_id, kind=LayerKind.VECTOR, title=layer_id,
                          feature_count=len(frame), source_crs="EPSG:3067",
                          bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                          geometry_type="Polygon")
    services_of(app).layers.import_layer(
        layer_id, lambda _: NormalisedLayer(report=report, frame=frame))


def staff_settings(settings: Settings, tmp_path: Path, name: str = "data") -> Settings:
    """The test's backend over a temporary layers folder (one file map) and styles folder
    (the project's styles plus one that fails the contrast check)."""
    layers = tmp_path / "layers" / "maps"
    if not layers.is_dir():
        layers.mkdir(parents=True)
        (layers / "tiedosto.json").write_text(json.dumps(FILE_MAP), encoding="utf-8")
        shutil.copytree(ROOT / "styles", tmp_path / "styles")
        (tmp_path / "styles" / "haalea.json").write_text(json.dumps(FAINT_STYLE),
                                                         encoding="utf-8")
    return dataclasses.replace(settings, data_dir=tmp_path / name,
                               layers_dir=tmp_path / "layers", styles_dir=tmp_path / "styles")


@pytest.fixture
def staff_app(settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """An app with the layer ``alueet`` and a file map ``tiedosto``."""
    app = open_app(staff_settings(settings, tmp_path))
    app.config["TESTING"] = True
    add_vector(app, "alueet")
    yield app
    close_app(app)


@pytest.fixture
def token(staff_app: Any) -> str:
    return str(services_of(staff_app).tokens.create("gis-staff"))


def put(client: Any, token: str, map_id: str, body: Any) -> Any:
    return client.put(f"/admin/api/maps/{map_id}", headers=auth(token), json=body)


def test_publish_update_and_take_down(staff_app: Any, token: str) -> None:
    client = staff_app.test_client()
    created = put(client, token, "ehdotus", MAP)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Location"] == "http://localhost/maps/ehdotus"
    document = created.get_json()
    assert document["id"] == "ehdotus" and document["title"]["sv"] == "Planförslag"
    assert document["layers"][0] == document["layers"][0] | {"layer": "alueet",
                                                             "style": "districts"}
    assert client.get("/maps/ehdotus").get_json()["version"] == document["version"]
    assert [m["id"] for m in client.get("/maps").get_json()["maps"]] == ["ehdotus", "tiedosto"]
    registry: MapRegistry = services_of(staff_app).maps
    assert registry.is_published("ehdotus") and not registry.is_published("tiedosto")

    updated = put(client, token, "ehdotus", {**MAP, "id": "ehdotus",
                                             "title": {"fi": "Uusi nimi"}})
    assert updated.status_code == 200
    assert updated.get_json()["version"] != document["version"]
    assert client.get("/maps/ehdotus").get_json()["title"] == {"fi": "Uusi nimi"}
    assert client.get("/embed/ehdotus?lang=fi").status_code == 200

    gone = client.delete("/admin/api/maps/ehdotus", headers=auth(token))
    assert gone.status_code == 204 and not gone.get_data()
    assert_problem(client.get("/maps/ehdotus"), 404)
    assert not registry.is_published("ehdotus")
    assert_problem(client.delete("/admin/api/maps/ehdotus", headers=auth(token)), 404,
                   mentions="ehdotus")


def test_comments_are_taken_on_a_published_map(staff_app: Any, token: str) -> None:
    client = staff_app.test_client()
    assert put(client, token, "ehdotus", MAP).status_code == 201
    posted = client.post("/maps/ehdotus/comments", json={
        "text": "Puisto tähän", "language": "fi",
        "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}})
    assert posted.status_code == 201, posted.get_data(as_text=True)


@pytest.mark.parametrize(("body", "field", "mentions"), [
    ({**MAP, "id": "toinen"}, "id", "toinen"),
    ({**MAP, "extent": [24.96, 60.16, 24.93, 60.18]}, "extent", "west < east"),
    ({**MAP, "layers": [{"layer": "alueet"}]}, "layers[0].style", "required"),
    ({**MAP, "base": {"type": "wms"}}, "base.type", "rendered"),
    ({key: v for key, v in MAP.items() if key != "title"}, "title", "required"),
    ({**MAP, "layers": [{"layer": "puuttuu", "style": "districts"}]}, "layers[0].layer",
     "puuttuu"),
    ({**MAP, "layers": [MAP["layers"][0], {"layer": "alueet", "style": "ei-ole"}]},
     "layers[1].style", "ei-ole"),
    ({**MAP, "search": [{"layer": "osoitteet", "kind": "place", "names": ["name"]}]},
     "search[0].layer", "osoitteet"),
    ({**MAP, "base": {"type": "rendered", "basemap": "mars"}}, "base.basemap", "mars"),
])
def test_a_bad_map_is_refused_naming_the_field(staff_app: Any, token: str, body: dict[str, Any],
                                               field: str, mentions: str) -> None:
    client = staff_app.test_client()
    problem = assert_problem(put(client, token, "ehdotus", body), 422, mentions=mentions)
    assert problem["field"] == field
    assert_problem(client.get("/maps/ehdotus"), 404)


def test_a_style_failing_the_contrast_check_is_refused(staff_app: Any, token: str) -> None:
    body = {**MAP, "layers": [MAP["layers"][0], {"layer": "alueet", "style": "haalea"}]}
    problem = assert_problem(put(staff_app.test_client(), token, "ehdotus", body), 422,
                             mentions="accessibility check")
    assert problem["field"] == "layers[1].style"
    lines = problem["detail"].splitlines()
    assert len(lines) >= 2 and lines[1].startswith("- haalea: class 'faint' stroke #f4f4f4")
    assert "base 'helsinki'" in lines[1] and "needs 3:1" in lines[1]


def test_a_file_map_is_edited_in_its_file(staff_app: Any, token: str) -> None:
    client = staff_app.test_client()
    put_problem = assert_problem(put(client, token, "tiedosto", MAP), 409,
                                 mentions="defined in layers/maps/tiedosto.json; edit the file")
    assert "/work/" not in put_problem["detail"]
    assert_problem(client.delete("/admin/api/maps/tiedosto", headers=auth(token)), 409,
                   mentions="layers/maps/tiedosto.json")
    assert client.get("/maps/tiedosto").get_json()["title"] == {"en": "From a file"}


def test_the_body_must_be_a_json_object(staff_app: Any, token: str) -> None:
    client = staff_app.test_client()
    assert_problem(client.put("/admin/api/maps/ehdotus", headers=auth(token), data="{nope"),
                   400, mentions="JSON object")
    assert_problem(put(client, token, "ehdotus", [MAP]), 400, mentions="JSON object")
    assert_problem(put(client, token, "Iso Kirjain", MAP), 422, mentions="a-z")


def test_publishing_needs_a_staff_token(staff_app: Any) -> None:
    client = staff_app.test_client()
    assert_problem(client.put("/admin/api/maps/ehdotus", json=MAP), 401)
    assert_problem(client.delete("/admin/api/maps/tiedosto",
                                 headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(client.get("/maps/ehdotus"), 404)


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["postgis"], indirect=True)
def test_a_map_published_on_one_host_is_served_by_another(settings: Settings,
                                                          tmp_path: Path) -> None:
    """Two apps (hosts) on one PostGIS schema: the other sees a publish at its next check."""
    one = open_app(staff_settings(settings, tmp_path, "one"))
    other = open_app(staff_settings(settings, tmp_path, "other"))
    try:
        add_vector(one, "alueet")
        registry: MapRegistry = services_of(other).maps
        registry.CHECK_SECONDS = 0.0  # check on every request instead of once a second
        token = services_of(one).tokens.create("gis-staff")
        reader = other.test_client()
        assert_problem(reader.get("/maps/ehdotus"), 404)

        assert put(one.test_client(), token, "ehdotus", MAP).status_code == 201
        served = reader.get("/maps/ehdotus")
        assert served.status_code == 200 and served.get_json()["title"] == MAP["title"]
        assert services_of(other).tokens.verify(token) == "gis-staff"

        changed = put(one.test_client(), token, "ehdotus", {**MAP, "title": {"en": "New"}})
        assert reader.get("/maps/ehdotus").get_json()["version"] == \
            changed.get_json()["version"]
        assert one.test_client().delete("/admin/api/maps/ehdotus",
                                        headers=auth(token)).status_code == 204
        assert_problem(reader.get("/maps/ehdotus"), 404)
    finally:
        close_app(one)
        close_app(other)

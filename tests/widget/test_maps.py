"""Map definitions: parsing, the registry, ``/maps`` and ``/maps/{id}``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, assert_problem
from webmap.maps import MapDefinitionError, MapRegistry, load_map, parse_map

MINIMAL = {"id": "kaava", "title": {"fi": "Kaava", "sv": "Plan", "en": "Plan"},
           "extent": [22.67, 60.45, 22.70, 60.46],
           "base": {"type": "rendered", "basemap": "finland"}}


def _with(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


@pytest.mark.parametrize(("data", "field"), [
    (_with(id="Kaava 1"), "kaava.id"),
    (_with(extent=[22.7, 60.45, 22.6, 60.46]), "extent"),
    (_with(extent=[22.7, 60.45]), "extent"),
    (_with(languages=["fi", "de"]), "languages"),
    (_with(title={"de": "Plan"}), "title"),
    (_with(tile_matrix_set="UTM35"), "tile_matrix_set"),
    (_with(origins=["https://e-palvelu.example.fi/lomake"]), "origins"),
    (_with(origins=["*"]), "origins"),
    (_with(base={"type": "xyz", "url": "http://tiles.example.fi/{z}/{x}/{y}.png",
                 "attribution": "x"}), "base.url"),
    (_with(base={"type": "wms"}), "base.type"),
    (_with(consultation={"opens": "2026-12-01", "closes": "2026-11-01"}), "consultation"),
    (_with(consultation={"geometry": ["point", "circle"]}), "consultation.geometry"),
    (_with(consultation={"opens": "next week"}), "consultation.opens"),
    (_with(search=[{"layer": "osoitteet", "kind": "address"}]), "search[0]"),
    (_with(layers=[{"layer": "kaava"}]), "layers[0]"),
    (_with(layers=[{"layer": "k", "style": "s", "attributes": [3]}]), "layers[0].attributes"),
    (_with(layers=[{"layer": "k", "style": "s", "labels": {"sv": ""}}]), "layers[0].labels"),
    (_with(layers=[{"layer": "k", "style": "s", "labels": "nimi_ru"}]), "layers[0].labels"),
])
def test_a_bad_map_is_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(MapDefinitionError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_map(data, source="kaava")


def test_a_full_map_parses() -> None:
    definition = parse_map(_with(
        languages=["sv", "fi"], tile_matrix_set="ETRS-TM35FIN",
        origins=["https://e-tjanst.example.se/"],
        layers=[{"layer": "alueet", "style": "asemakaava-alueet", "plan": True,
                 "label": "nimi", "labels": {"sv": "namn"},
                 "attributes": ["nimi", {"field": "id", "title": {
                     "fi": "Tunnus", "sv": "Id"}}]}],
        search=[{"layer": "osoitteet", "kind": "address", "street": "katu",
                 "number": "numero"}],
        consultation={"opens": "2026-11-01T00:00:00+02:00", "closes": "2027-01-31",
                      "geometry": ["point", "feature"]}))
    assert definition.default_language == "sv"
    assert definition.language("en") == "sv" and definition.language("fi") == "fi"
    assert definition.origins == ("https://e-tjanst.example.se",)
    assert definition.plan_layers[0].attributes == ("nimi", "id")
    assert definition.plan_layers[0].attribute_titles["id"]["fi"] == "Tunnus"
    assert definition.plan_layers[0].label_fields == {"sv": "namn"}
    consultation = definition.consultation
    assert consultation is not None
    assert consultation.is_open(datetime(2026, 12, 24, tzinfo=UTC))
    assert not consultation.is_open(datetime(2027, 1, 31, 0, 0, 1, tzinfo=UTC))
    assert not consultation.is_open(datetime(2026, 10, 31, 21, 59, tzinfo=UTC))


def test_the_demo_maps_parse() -> None:
    maps = MapRegistry(ROOT / "layers" / "maps").all()
    assert {m.id for m in maps} == {"paimio-asemakaava", "helsinki-keskusta", "ryhti-testikaava"}
    assert {m.tile_matrix_set for m in maps} == {"ETRS-TM35FIN", "WebMercatorQuad"}


def test_file_name_must_match_the_id(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text(json.dumps(MINIMAL))
    with pytest.raises(MapDefinitionError, match="must match the file name"):
        load_map(tmp_path / "other.json")


def test_registry_rereads_a_changed_file_and_keeps_serving_on_a_bad_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "kaava.json"
    path.write_text(json.dumps(MINIMAL))
    registry = MapRegistry(tmp_path)
    registry.CHECK_SECONDS = 0.0
    first = registry.get("kaava")
    path.write_text(json.dumps(_with(title={"en": "Changed"})))
    os.utime(path, ns=(1, 10**18))  # a new mtime even on coarse file systems
    changed = registry.get("kaava")
    assert changed.title == {"en": "Changed"} and changed.version != first.version
    path.write_text("{not json")
    os.utime(path, ns=(1, 2 * 10**18))
    assert registry.get("kaava").title == {"en": "Changed"}
    assert "not reloaded" in caplog.text


@pytest.fixture
def maps_app(write_map: Callable[[dict[str, Any]], Path],
             make_widget_app: Callable[[], Any]) -> Any:
    """An app whose layers directory holds one map."""
    write_map(_with(origins=["https://e-palvelu.example.fi"],
                    consultation={"geometry": ["point"]}))
    return make_widget_app()


def test_maps_list_and_detail(maps_app: Any) -> None:
    client = maps_app.test_client()
    listing = client.get("/maps").get_json()
    assert [m["id"] for m in listing["maps"]] == ["kaava"]
    detail = client.get("/maps/kaava").get_json()
    assert detail["extent"] == MINIMAL["extent"]
    assert detail["consultation"]["open"] is True
    assert detail["origins"] == ["https://e-palvelu.example.fi"]
    assert {link["hreflang"] for link in detail["links"] if link.get("hreflang")} == \
        {"fi", "sv", "en"}
    assert_problem(client.get("/maps/nothing"), 404, mentions="nothing")


def test_map_page_offers_the_embed_snippet(maps_app: Any) -> None:
    page = maps_app.test_client().get("/maps/kaava?f=html&lang=sv").get_data(as_text=True)
    assert '&lt;iframe src="http://localhost/embed/kaava?lang=sv"' in page
    assert 'title="Karta: Plan"' in page

"""Place search (SPEC §6): accent-free prefixes, ranking, OSM tags, rebuilds, validation."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.conftest import ROOT, assert_problem
from webmap.database import PostgresDatabase
from webmap.layers import import_file
from webmap.search import (
    PostgresIndexes,
    SearchService,
    SqliteIndexes,
    house_number_order,
    normalise,
    parse_hstore,
    search_key,
)
from webmap.services import services_of
from webmap.settings import Settings

HELSINKI = (24.94, 60.17)
PBF = ROOT / "layers" / "demo" / "osm-helsinki" / "Helsinki.osm.pbf"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Each backend's settings with an empty maps folder of the test's own."""
    (tmp_path / "layers" / "maps").mkdir(parents=True)
    return dataclasses.replace(settings, layers_dir=tmp_path / "layers")


@pytest.fixture
def write_map(app: Any, settings: Settings) -> Callable[..., None]:
    """Publish a map with these search sources (seen by the app's registry at once)."""
    registry = services_of(app).maps
    registry.CHECK_SECONDS = 0

    def write(map_id: str, search: list[dict[str, Any]] | None = None, *,
              copy_of: Path | None = None) -> None:
        target = settings.layers_dir / "maps" / f"{map_id}.json"
        if copy_of is not None:
            shutil.copy(copy_of, target)
            return
        target.write_text(json.dumps({
            "id": map_id, "title": {"en": map_id}, "extent": [24.9, 60.1, 25.0, 60.2],
            "base": {"type": "rendered", "basemap": "helsinki"}, "search": search or []}),
            encoding="utf-8")

    return write


def points(rows: list[dict[str, Any]], *, spacing_deg: float = 0.001) -> gpd.GeoDataFrame:
    """One point per row near Helsinki (CRS84), ``spacing_deg`` apart unless a row gives x/y."""
    geoms = [shapely.Point(row.pop("x", HELSINKI[0] + i * spacing_deg),
                           row.pop("y", HELSINKI[1])) for i, row in enumerate(rows)]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="OGC:CRS84")


def search(client: Any, q: str, map_id: str = "m", **params: Any) -> list[dict[str, Any]]:
    response = client.get("/search", query_string={"q": q, "map": map_id, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    features: list[dict[str, Any]] = response.get_json()["features"]
    return features


def labels(features: list[dict[str, Any]]) -> list[str]:
    return [f["properties"]["label"] for f in features]


PLACE_SOURCE = {"layer": "places", "kind": "place", "names": ["name"]}
ADDRESS_SOURCE = {"layer": "addresses", "kind": "address", "street": "street",
                  "number": "number"}


# -- normalisation -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Hämeenkatu", "hameenkatu"), ("Åkerlundinkatu", "akerlundinkatu"),
    ("TÖÖLÖNKATU", "toolonkatu"), ("Straße", "strasse"), ("Øresund", "oresund"),
    ("Ærøskøbing", "aeroskobing"), ("Ｈｅｌｓｉｎｋｉ", "helsinki"), ("ﬁnska", "finska"),
    ("Čáhcesuolu", "cahcesuolu"), ("Đuoddar", "duoddar"), ("İstanbul", "istanbul"),
])
def test_normalise_folds_case_and_accents(text: str, expected: str) -> None:
    assert normalise(text) == expected
    assert normalise(expected) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Hämeentie 5 A", "hameentie 5a"), ("  Itä-Pakila ", "ita pakila"),
    ("St. Urho's Pub", "st urhos pub"), ("Mannerheimintie 12–14", "mannerheimintie 12 14"),
    ("Ravintolalaiva M/S Maria", "ravintolalaiva m s maria"), ("!!!", ""),
])
def test_search_key_joins_words_and_house_letters(text: str, expected: str) -> None:
    assert search_key(text) == expected


def test_parse_hstore_keeps_escapes_and_skips_nulls() -> None:
    text = ('"addr:street"=>"Hämeentie","addr:housenumber"=>"5","opening_hours"=>'
            '"\\"for request only\\"","note"=>"a, b => c","gone"=>NULL,"back\\\\slash"=>"x"')
    assert parse_hstore(text) == {"addr:street": "Hämeentie", "addr:housenumber": "5",
                                  "opening_hours": '"for request only"',
                                  "note": "a, b => c", "back\\slash": "x"}
    assert parse_hstore("") == {} and parse_hstore(None) == {}
    assert parse_hstore('"broken=>') == {}


def test_house_numbers_sort_as_numbers() -> None:
    numbers = ["51", "5 b", "15", "5", "5a", "A", "50"]
    assert sorted(numbers, key=house_number_order) == ["5", "5a", "5 b", "15", "50", "51", "A"]


# -- matching and ranking --------------------------------------------------------------------

def test_accent_insensitive_prefixes_find_names(client: Any, add_layer: Any,
                                                write_map: Any) -> None:
    add_layer("places", points([{"name": n} for n in (
        "Hämeenkatu", "Hameenlinnanväylä", "Åkerlundinkatu", "Töölönkatu", "Akseli", "Tori",
        "Große Straße", "Øresundsvägen")]))
    write_map("m", [PLACE_SOURCE])
    assert labels(search(client, "Hameenkatu")) == ["Hämeenkatu"]
    assert labels(search(client, "hämeenk")) == ["Hämeenkatu"]
    assert labels(search(client, "HAMEEN")) == ["Hämeenkatu", "Hameenlinnanväylä"]
    assert labels(search(client, "akerl")) == ["Åkerlundinkatu"]
    assert labels(search(client, "toolon")) == ["Töölönkatu"]
    assert labels(search(client, "ak")) == ["Akseli", "Åkerlundinkatu"]
    assert labels(search(client, "grosse STRASSE")) == ["Große Straße"]
    assert labels(search(client, "strasse")) == ["Große Straße"]
    assert labels(search(client, "oresund")) == ["Øresundsvägen"]
    assert search(client, "katu") == [], "a match starts a word, not the middle of one"
    assert search(client, "xyz") == []


def test_addresses_rank_exact_then_numbers_in_order(client: Any, add_layer: Any,
                                                   write_map: Any) -> None:
    rows = [{"street": "Hämeentie", "number": n} for n in ("51", "5b", "15", "5", "50", "5a")]
    rows += [{"street": "Hämeentie", "number": None},  # no number: not an address
             {"street": "Sörnäisten rantatie", "number": "3"},
             {"street": "Rantatie", "number": "3"}, {"street": "Rantatie", "number": "3 A"}]
    add_layer("addresses", points(rows))
    write_map("m", [ADDRESS_SOURCE])
    assert labels(search(client, "hameentie 5")) == [
        "Hämeentie 5", "Hämeentie 5a", "Hämeentie 5b", "Hämeentie 50", "Hämeentie 51"]
    assert labels(search(client, "Hämeentie")) == [
        "Hämeentie 5", "Hämeentie 5a", "Hämeentie 5b", "Hämeentie 15", "Hämeentie 50",
        "Hämeentie 51"]
    assert labels(search(client, "hameentie 5", limit=2)) == ["Hämeentie 5", "Hämeentie 5a"]
    assert labels(search(client, "rantatie 3")) == [
        "Rantatie 3", "Rantatie 3 A", "Sörnäisten rantatie 3"]
    assert labels(search(client, "rantatie 3a")) == ["Rantatie 3 A"]
    assert labels(search(client, "sornaisten")) == ["Sörnäisten rantatie 3"]
    assert search(client, "3") == [], "a house number alone is not an address"
    first = search(client, "hameentie 5")[0]
    assert first["properties"] == {"label": "Hämeentie 5", "kind": "address",
                                   "layer": "addresses", "feature_id": 4}


def test_places_rank_exact_then_label_prefix_then_word_prefix(client: Any, add_layer: Any,
                                                              write_map: Any) -> None:
    add_layer("places", points([{"name": n} for n in (
        "Vanha kauppatori", "Kauppatorin laituri", "Kauppatori", "Kauppahalli",
        "Kauppa")]))
    write_map("m", [PLACE_SOURCE])
    assert labels(search(client, "kauppatori")) == [
        "Kauppatori", "Kauppatorin laituri", "Vanha kauppatori"]
    assert labels(search(client, "kauppa")) == [
        "Kauppa", "Kauppatori", "Kauppahalli", "Kauppatorin laituri", "Vanha kauppatori"]
    assert labels(search(client, "vanha kauppa")) == ["Vanha kauppatori"]


def test_same_label_within_ten_metres_counts_once(client: Any, add_layer: Any,
                                                  write_map: Any) -> None:
    x, y = HELSINKI
    metre = 1 / 111_320 / math.cos(math.radians(y))
    add_layer("places", points([
        {"name": "Tori", "x": x, "y": y}, {"name": "Tori", "x": x + 3 * metre, "y": y},
        {"name": "Tori", "x": x + 60 * metre, "y": y}]))
    add_layer("more-places", points([{"name": "Tori", "x": x + 2 * metre, "y": y}]))
    write_map("m", [PLACE_SOURCE, {"layer": "more-places", "kind": "place", "names": ["name"]}])
    found = search(client, "tori")
    assert labels(found) == ["Tori", "Tori"]
    assert {f["properties"]["feature_id"] for f in found} == {1, 3}


def test_places_from_two_name_fields_with_language(client: Any, app: Any, tmp_path: Path,
                                                   write_map: Any) -> None:
    squares = [shapely.box(24.94, 60.17, 24.95, 60.175), shapely.box(24.96, 60.17, 24.97, 60.18)]
    frame = gpd.GeoDataFrame({"name": ["Kauppatori", "Hakaniemen tori"],
                              "name:sv": ["Salutorget", "Hagnäs torg"]},
                             geometry=squares, crs="OGC:CRS84").to_crs(3067)
    path = tmp_path / "torit.gpkg"
    pyogrio.write_dataframe(frame, path, layer="torit")
    import_file(services_of(app).layers, path, "squares")
    write_map("m", [{"layer": "squares", "kind": "place", "names": ["name", "name:sv"]}])
    client = app.test_client()
    [swedish] = search(client, "hagnas")
    assert swedish["properties"]["label"] == "Hagnäs torg"
    assert swedish["properties"]["lang"] == "sv"
    [finnish] = search(client, "hakaniemen")
    assert "lang" not in finnish["properties"]
    assert labels(search(client, "tor")) == ["Hagnäs torg", "Hakaniemen tori"]
    assert labels(search(client, "kauppat")) == ["Kauppatori"]
    fid = swedish["properties"]["feature_id"]
    item = client.get(f"/collections/squares/items/{fid}").get_json()
    assert item["properties"]["name_sv"] == "Hagnäs torg"
    area = shapely.geometry.shape(item["geometry"])
    point = shapely.Point(swedish["geometry"]["coordinates"])
    assert area.contains(point), "the point lies on the area"
    minx, miny, maxx, maxy = swedish["properties"]["bbox"]
    assert (minx, miny, maxx, maxy) == pytest.approx(area.bounds, abs=1e-6)


def test_osm_addresses_and_names_come_from_other_tags(client: Any, app: Any,
                                                      write_map: Any) -> None:
    import_file(services_of(app).layers, PBF, "helsinki-places", layer="points")
    write_map("helsinki-keskusta", copy_of=ROOT / "layers" / "maps" / "helsinki-keskusta.json")
    raw = pyogrio.read_dataframe(PBF, layer="points")
    tags = raw["other_tags"].map(parse_hstore)
    at = raw.geometry[[t.get("addr:street") == "Säästöpankinranta"
                       and t.get("addr:housenumber") == "6" for t in tags]]
    assert len(at) >= 1, "the demo extract has Säästöpankinranta 6"
    found = search(client, "saastopankinranta 6", "helsinki-keskusta")
    assert found[0]["properties"]["label"] == "Säästöpankinranta 6"
    assert found[0]["properties"]["kind"] == "address"
    point = shapely.Point(found[0]["geometry"]["coordinates"])
    assert min(point.distance(p) for p in at) < 1e-6, "at its OSM node"
    station = search(client, "helsingfors jarnv", "helsinki-keskusta")
    assert station[0]["properties"]["label"] == "Helsingfors järnvägsstation"
    assert station[0]["properties"]["lang"] == "sv"
    assert labels(search(client, "Mikonkatu 1", "helsinki-keskusta"))[0] == "Mikonkatu 1"


def test_index_follows_the_layer_version(app: Any, client: Any, add_layer: Any,
                                         write_map: Any) -> None:
    service: SearchService = services_of(app).search
    write_map("m", [PLACE_SOURCE])
    add_layer("places", points([{"name": "Alfa"}]))
    assert labels(search(client, "alf")) == ["Alfa"]
    first = service.indexes.handles("places")
    assert len(first) == 1
    add_layer("places", points([{"name": "Beta"}, {"name": "Alfred"}]))
    assert search(client, "alfa") == []
    assert labels(search(client, "bet")) == ["Beta"]
    assert labels(search(client, "alf")) == ["Alfred"]
    second = service.indexes.handles("places")
    assert len(second) == 1 and second != first, "the old version's index is gone"
    services_of(app).layers.remove_layer("places")
    assert search(client, "bet") == []
    assert service.indexes.handles("places") == []


def test_two_workers_building_at_once_share_one_index(app: Any, settings: Settings,
                                                      add_layer: Any, write_map: Any) -> None:
    add_layer("places", points([{"name": f"Paikka {i}"} for i in range(3000)],
                               spacing_deg=0.0001))
    services = services_of(app)
    database = services.database
    workers = [SearchService(services.layers, PostgresIndexes(database)
                             if isinstance(database, PostgresDatabase)
                             else SqliteIndexes(settings.data_dir / "search"))
               for _ in range(2)]
    sources = services_of(app).maps
    write_map("m", [PLACE_SOURCE])
    definition = sources.get("m")
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run(service: SearchService) -> None:
        try:
            results.append([h.label for h in service.search(definition.search, "paikka 12",
                                                            limit=3)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == [["Paikka 12", "Paikka 120", "Paikka 121"]] * 2
    assert len(workers[0].indexes.handles("places")) == 1


# -- the HTTP contract ----------------------------------------------------------------------

def test_response_is_geojson_points_with_short_caching(client: Any, add_layer: Any,
                                                       write_map: Any) -> None:
    add_layer("places", points([{"name": f"Tori {i}", "x": 24.941234567891, "y": 60.1}
                                for i in range(30)]))
    write_map("m", [PLACE_SOURCE])
    assert client.get("/search?q=tori&map=m&unknown=x").status_code == 400, \
        "an unknown parameter is refused, as on every operation"
    response = client.get("/search?q=tori&map=m")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 10
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        assert feature["geometry"]["coordinates"] == [24.9412346, 60.1]
        assert set(feature["properties"]) == {"label", "kind", "layer", "feature_id"}
    assert len(search(client, "tori", limit=50)) == 30
    assert len(search(client, "tori", limit=500)) == 30, "larger limits are capped"


@pytest.mark.parametrize(("query", "status", "parameter"), [
    ("map=m", 400, "q"), ("q=&map=m", 400, "q"), ("q=%20%20&map=m", 400, "q"),
    ("q=" + "a" * 101 + "&map=m", 400, "q"), ("q=tori", 400, "map"), ("q=tori&map=", 400, "map"),
    ("q=tori&map=m&limit=0", 400, "limit"), ("q=tori&map=m&limit=ten", 400, "limit"),
    ("q=tori&map=nowhere", 404, None),
])
def test_bad_requests_are_problems(client: Any, write_map: Any, query: str, status: int,
                                   parameter: str | None) -> None:
    write_map("m", [PLACE_SOURCE])
    body = assert_problem(client.get(f"/search?{query}"), status)
    if parameter is not None:
        assert body["parameter"] == parameter


def test_query_of_100_characters_is_accepted(client: Any, write_map: Any) -> None:
    write_map("m", [PLACE_SOURCE])
    assert search(client, "  " + "a" * 100 + "  ") == []


def test_results_never_come_from_other_maps_layers(client: Any, add_layer: Any,
                                                   write_map: Any) -> None:
    add_layer("places", points([{"name": "Kauppatori"}, {"name": "Yhteinen"}]))
    add_layer("others", points([{"name": "Kaupunginosa"}, {"name": "Yhteinen"}]))
    write_map("m", [PLACE_SOURCE])
    write_map("other", [{"layer": "others", "kind": "place", "names": ["name"]}])
    assert labels(search(client, "kaup")) == ["Kauppatori"]
    assert labels(search(client, "kaup", "other")) == ["Kaupunginosa"]
    assert {f["properties"]["layer"] for f in search(client, "yhteinen")} == {"places"}
    write_map("empty", [])
    assert search(client, "kaup", "empty") == []


def test_missing_or_raster_search_layers_are_skipped(client: Any, add_layer: Any,
                                                     add_raster: Any, write_map: Any) -> None:
    add_layer("places", points([{"name": "Tori"}]))
    add_raster("ortho")
    write_map("m", [{"layer": "not-imported", "kind": "place", "names": ["name"]},
                    {"layer": "ortho", "kind": "place", "names": ["name"]},
                    {"layer": "places", "kind": "place", "names": ["name", "nimi"]}])
    assert labels(search(client, "tori")) == ["Tori"]


def test_one_answer_per_address_and_streets_by_their_swedish_names(
        client: Any, app: Any, write_map: Any) -> None:
    import_file(services_of(app).layers, PBF, "helsinki-places", layer="points")
    import_file(services_of(app).layers, PBF, "helsinki-roads", layer="lines")
    write_map("helsinki-keskusta", copy_of=ROOT / "layers" / "maps" / "helsinki-keskusta.json")
    raw = pyogrio.read_dataframe(PBF, layer="points")
    tags = raw["other_tags"].map(parse_hstore)
    tagged = sum(t.get("addr:street") == "Mannerheimintie" and t.get("addr:housenumber") == "1"
                 for t in tags)
    assert tagged == 3, "an address point, a garage and a pharmacy share the address"
    found = labels(search(client, "Mannerheimintie 1", "helsinki-keskusta"))
    assert found.count("Mannerheimintie 1") == 1, found
    swedish = search(client, "Mannerheimvägen", "helsinki-keskusta")
    streets = [f for f in swedish if f["properties"]["layer"] == "helsinki-roads"]
    assert [f["properties"]["label"] for f in streets] == ["Mannerheimvägen"], swedish
    assert streets[0]["properties"]["lang"] == "sv"
    minx, miny, maxx, maxy = streets[0]["properties"]["bbox"]
    assert maxy - miny > 0.005, "the stretches of the street are one answer, its extent"

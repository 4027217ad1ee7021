"""Every real data set in /work/shared/data imports as its SOURCE.md describes (on copies)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rasterio
import shapely
from rio_cogeo.cogeo import cog_validate

from tests.plans.conftest import DP225, PLAN_DATA
from webmap.problems import ImportFailed

QAAVA = "fi_asemakaava_qaava_testiaineisto/asemakaava_testiaineisto.gpkg"
KUNNAT = "fi_kunnat_2023_tilastokeskus/municipalities_2023"
NLS = "fi_nls_maastotietokanta_L4132R"
TURKU = "fi_turku_espoo_smbackend_samples"
HELSINKI_PBF = "osm_pbf_helsinki_kotka/Helsinki.osm.pbf"
KOTKA_PBF = "osm_pbf_helsinki_kotka/test.osm.pbf"
LM = "se_lantmateriet_topografi50_samples"
QUIRKS = "fi_shapefile_prj_cpg_quirks"


@dataclass(frozen=True)
class Case:
    """One import: where, with which options, and what SOURCE.md says comes out."""

    path: str
    crs: str
    count: int
    options: dict[str, Any] = field(default_factory=dict)
    text: tuple[str, str] | None = None
    min_dropped: int = 0
    max_dropped: int = 0
    repaired: int | None = 0
    needs: str | None = None
    """The option the import fails without (its message must name it). ``min_dropped`` are
    the NULL geometries SOURCE.md counts; up to ``max_dropped`` when invalid ones collapse."""

    @property
    def id(self) -> str:
        extra = "-".join(str(v) for v in self.options.values())
        return f"{Path(self.path).name}{'-' + extra if extra else ''}"


NLS_COUNTS = {"l_L4132R_v": 10509, "l_L4132R_s": 134, "l_L4132R_t": 25, "m_L4132R_p": 4311,
              "m_L4132R_t": 315, "n_L4132R_p": 48, "n_L4132R_s": 71, "n_L4132R_t": 20,
              "n_L4132R_v": 65, "h_L4132R_p": 6, "h_L4132R_v": 7, "r_L4132R_s": 81,
              "r_L4132R_t": 426, "s_L4132R_p": 66}
NLS_TEXT = {"m_L4132R_t": "Lippajärvi", "n_L4132R_t": "Järvenperä",
            "r_L4132R_t": "Leppävaaran kartano"}

CASES = [
    Case(QAAVA, "EPSG:3877", 27, {"layer": "asemakaava_pisteet"}, needs="--layer",
         text=("pisteet_asemakaava_kaavamerkinta", "Alueeseen tai kohteeseen liittyvä "
                                                   "kirjain- tai numerotunnus")),
    Case(QAAVA, "EPSG:3877", 18, {"layer": "asemakaava_viivat"}, needs="--layer"),
    Case(QAAVA, "EPSG:3877", 64, {"layer": "asemakaava_osa_alueet"}, needs="--layer",
         text=("osa_alueet_asemakaava_kaavamerkinta", "Alue, jolla ympäristö säilytetään")),
    Case(QAAVA, "EPSG:3877", 80, {"layer": "asemakaava_maankaytto"}, needs="--layer",
         text=("maankaytto_asemakaava_kaavamerkinta", "Jätteenkäsittelyalue")),
    Case(f"{KUNNAT}.gpkg", "EPSG:3067", 309, text=("nimi", "Hämeenlinna")),
    Case(f"{KUNNAT}.shp", "EPSG:3067", 309, text=("namn", "Pedersöre")),
    Case(f"{KUNNAT}.tab", "EPSG:3067", 309, text=("nimi", "Hämeenlinna")),
    Case("fi_kuntarajat_mml_4500k_geojson/kuntarajat.2023.json", "EPSG:4326", 309,
         text=("namefin", "Pöytyä")),
    Case("fi_kuntarajat_mml_4500k_geojson/maakuntarajat.2023.json", "EPSG:4326", 19,
         text=("namefin", "Kanta-Häme")),
    *[Case(f"{NLS}/{name}.shp", "EPSG:3067", count,
           text=("teksti", NLS_TEXT[name]) if name in NLS_TEXT else None)
      for name, count in NLS_COUNTS.items()],
    Case("fi_pks_postinumeroalueet_2023_shpzip/PKS_postinumeroalueet_2023_manner_shp.zip",
         "EPSG:3879", 172, text=("nimi", "Etelä-Leppävaara")),
    Case("fi_pks_suuralueet_kml/PKS_suuralue.kml", "EPSG:4326", 23, repaired=1,
         text=("nimi", "Suur-Matinkylä")),
    Case(f"{QUIRKS}/lakes.shp", "EPSG:3067", 232, {"crs": "EPSG:3067"}, needs="--crs"),
    Case(f"{QUIRKS}/Kamppi_Helsinki_Finland_buildings.shp", "EPSG:4326", 434,
         {"crs": "EPSG:4326"}, needs="--crs", text=("addr_stree", "Lönnrotinkatu")),
    Case(f"{TURKU}/LatauspisteetTurku.csv", "EPSG:3877", 152, {"crs": "EPSG:3877"},
         needs="--crs", text=("hallinnoija_sv", "Åbo Mässcentrum")),
    Case(f"{TURKU}/Venepaikkojen_tiedot.csv", "EPSG:3877", 817, {"crs": "EPSG:3877"},
         needs="--crs", min_dropped=26, text=("paikkanimi", "Aurajoki Norrskär")),
    Case(f"{TURKU}/autopysäköinti_eihlö.geojson", "EPSG:3877", 690, repaired=4,
         text=("osoite", "Blomberginaukio 12, 20520 Turku / Blombergsplan 12 20520 Åbo")),
    Case(f"{TURKU}/speed_limits.gml", "EPSG:3877", 3),
    Case(f"{TURKU}/Oppilaaksiottoalueet_ruotsinkielinen_ala_aste.gml", "EPSG:3879", 2,
         text=("nimi", "Rödskogs skola")),
    Case(HELSINKI_PBF, "EPSG:4326", 8045, {"layer": "points"}, needs="--layer"),
    Case(HELSINKI_PBF, "EPSG:4326", 3818, {"layer": "lines"}, needs="--layer", repaired=None,
         max_dropped=1, text=("name", "Töölönlahdenkatu")),
    Case(HELSINKI_PBF, "EPSG:4326", 233, {"layer": "multilinestrings"}, needs="--layer"),
    Case(HELSINKI_PBF, "EPSG:4326", 1095, {"layer": "multipolygons"}, needs="--layer",
         min_dropped=11, max_dropped=11 + 39, repaired=None,
         text=("name", "Helsingin yliopiston päärakennus")),
    Case(HELSINKI_PBF, "EPSG:4326", 232, {"layer": "other_relations"}, needs="--layer",
         min_dropped=3, max_dropped=3 + 2, repaired=None),
    Case(KOTKA_PBF, "EPSG:4326", 2302, {"layer": "multipolygons"}, needs="--layer",
         min_dropped=8, max_dropped=8 + 43, repaired=None, text=("name", "Helilän koulu")),
    Case(KOTKA_PBF, "EPSG:4326", 339, {"layer": "lines"}, needs="--layer",
         text=("name", "Mäyränkatu")),
    Case(f"{LM}/test_integration_communication_vaglinje.geojson", "EPSG:3006", 22,
         text=("objekttyp", "Motorväg")),
    Case(f"{LM}/test_integration_ground_mark.geojson", "EPSG:3006", 30,
         text=("objekttyp", "Sjö")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_real_data_set_imports(shared_data: Path, load, case: Case) -> None:
    layer = load(shared_data / case.path, **case.options)
    report = layer.report
    assert report.source_crs == case.crs
    assert report.feature_count + report.dropped == case.count
    assert case.min_dropped <= report.dropped <= max(case.min_dropped, case.max_dropped)
    if case.repaired is not None:
        assert report.repaired == case.repaired
    frame = layer.frame
    assert len(frame) == report.feature_count
    assert frame.crs.to_string() == "OGC:CRS84"
    assert shapely.is_valid(frame.geometry.values).all()
    assert not shapely.has_z(frame.geometry.values).any()
    minx, miny, maxx, maxy = report.bbox
    assert 10 < minx <= maxx < 32
    assert 55 < miny <= maxy < 71
    if case.text is not None:
        column, value = case.text
        assert value in set(frame[column]), f"{value!r} not in {column}"


@pytest.mark.parametrize("case", [c for c in CASES if c.needs], ids=lambda c: c.id)
def test_real_data_set_needing_an_option_fails_without_it(shared_data, load, case) -> None:
    options = {k: v for k, v in case.options.items() if f"--{k}" != case.needs}
    with pytest.raises(ImportFailed) as failure:
        load(shared_data / case.path, **options)
    detail = failure.value.detail
    assert case.needs in detail
    if case.needs == "--crs":
        assert case.options["crs"] in detail, "the likely CRS is suggested"
    else:
        assert case.options["layer"] in detail, "the layers are listed"


def test_mapinfo_tab_notes_encoding_and_datum(shared_data, load) -> None:
    report = load(shared_data / f"{KUNNAT}.tab").report
    assert any("cp1252" in w for w in report.warnings)
    assert any("EPSG:32635" in w for w in report.warnings)


def test_latin1_cpg_and_truncated_field_name(shared_data, load) -> None:
    frame = load(shared_data / f"{QUIRKS}/Kamppi_Helsinki_Finland_buildings.shp",
                 crs="EPSG:4326").frame
    assert {"Päärakennus", "Sähkötalo"} <= set(frame["name"])


def test_field_names_from_real_files(shared_data, load) -> None:
    parking = load(shared_data / f"{TURKU}/autopysäköinti_eihlö.geojson").frame
    assert {"fid_1", "rajoitukset_maksullisuus"} <= set(parking.columns)
    roads = load(shared_data / f"{LM}/test_integration_communication_vaglinje.geojson").frame
    assert "alternativt_manér" in roads.columns
    assert load(shared_data / f"{KUNNAT}.gpkg").frame["kunta"][0] == "005"


RASTERS = [("Clc2018_Seurasaari.tif", "EPSG:3067", 1),
           ("S2B_RGBNIR_20210926_Seurasaari.tif", "EPSG:32635", 4)]


@pytest.mark.parametrize(("name", "crs", "bands"), RASTERS)
def test_real_rasters_become_cogs(shared_data, load, name, crs, bands) -> None:
    layer = load(shared_data / "fi_helsinki_seurasaari_rasters" / name)
    assert layer.report.source_crs == crs
    assert cog_validate(layer.raster_path, quiet=True)[0]
    with rasterio.open(layer.raster_path) as cog:
        assert cog.count == bands
        assert cog.overviews(1)
    minx, miny, maxx, maxy = layer.report.bbox
    assert 24.87 < minx < maxx < 24.9
    assert 60.17 < miny < maxy < 60.19


def test_ryhti_plan_json_is_refused_clearly(shared_data, load) -> None:
    plans = sorted((shared_data / "fi_ryhti_kaava_json_examples").rglob("*.json"))
    assert len(plans) == 26
    for plan in plans:
        with pytest.raises(ImportFailed, match="Ryhti plan JSON.*not a format webmap reads"
                                               ".*webmap plans import"):
            load(plan)
    with pytest.raises(ImportFailed, match="NGP detaljplan.*webmap plans import"):
        load(shared_data / DP225)
    for other in sorted((shared_data / "fi_ryhti_kaava_json_examples").rglob("*.yml"))[:3]:
        with pytest.raises(ImportFailed):
            load(other)


def test_kotka_has_no_other_relations(shared_data, load) -> None:
    with pytest.raises(ImportFailed, match="no features"):
        load(shared_data / KOTKA_PBF, layer="other_relations")


def test_source_files_are_left_untouched(shared_data, tmp_path, load) -> None:
    folder = shared_data / Path(QAAVA).parent

    def digest() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    before = digest()
    assert {"asemakaava_testiaineisto.gpkg-wal", "asemakaava_testiaineisto.gpkg-shm"} <= set(before)
    load(shared_data / QAAVA, layer="asemakaava_pisteet")
    assert digest() == before
    gml_folder = shared_data / TURKU
    files = sorted(p.name for p in gml_folder.iterdir())
    copy = tmp_path / "lonely.gml"
    copy.write_bytes((gml_folder / "speed_limits.gml").read_bytes())
    load(copy)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("lonely")) == [
        "lonely.gml"]
    assert sorted(p.name for p in gml_folder.iterdir()) == files


def test_every_shared_data_file_is_covered(shared_data) -> None:
    data_suffixes = {".gpkg", ".shp", ".tab", ".json", ".geojson", ".zip", ".kml", ".csv",
                     ".gml", ".pbf", ".tif"}
    covered = {c.path for c in CASES} | {f"fi_helsinki_seurasaari_rasters/{name}"
                                         for name, _, _ in RASTERS} | PLAN_DATA
    found = {p.relative_to(shared_data).as_posix() for p in shared_data.rglob("*")
             if p.suffix.lower() in data_suffixes}
    assert found - covered == set()

"""Normalisation: CRS detection and override, geometry repair and types, attribute names."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from tests.builders import make_vector, origin, polygons
from webmap.ingest.normalise import clean_names
from webmap.problems import ImportFailed


def _feature_collection(geometries: list[dict], crs: str | None = None) -> str:
    doc: dict = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"n": i}, "geometry": g}
        for i, g in enumerate(geometries)]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc)


def test_output_is_crs84_and_matches_pyproj(tmp_path, load):
    shp = make_vector(tmp_path / "a.shp", crs=3879, n=10, invalid=0, encoding="utf-8")
    layer = load(shp)
    assert layer.report.source_crs == "EPSG:3879"
    assert layer.frame.crs.to_string() == "OGC:CRS84"
    x, y, _ = origin(3879)
    lon, lat = Transformer.from_crs(3879, "OGC:CRS84", always_xy=True).transform(x, y)
    first = shapely.get_coordinates(layer.frame.geometry[0])
    assert np.isclose(first[:, 0].min(), lon, atol=1e-7)
    assert np.isclose(first[:, 1].min(), lat, atol=1e-7)
    minx, miny, maxx, maxy = layer.report.bbox
    assert 24.9 < minx < maxx < 25.1
    assert 60.1 < miny < maxy < 60.3


@pytest.mark.parametrize("epsg", [3067, 3873, 3879, 3885, 2393, 3006, 3007, 3018, 3021, 3857,
                                  4326])
def test_national_crs_are_detected(tmp_path, load, epsg):
    gpkg = make_vector(tmp_path / f"a{epsg}.gpkg", crs=epsg, n=3, invalid=0, fmt="gpkg")
    assert load(gpkg).report.source_crs == f"EPSG:{epsg}"


def test_esri_prj_without_epsg_code_is_identified(tmp_path, load):
    shp = make_vector(tmp_path / "esri.shp", crs=3067, n=5, invalid=0, prj="esri",
                      encoding="utf-8")
    assert "EPSG" not in shp.with_suffix(".prj").read_text()
    assert load(shp).report.source_crs == "EPSG:3067"


@pytest.mark.parametrize(("crs", "prj", "hint"), [
    (3067, "none", "EPSG:3067"), (3877, "empty", "EPSG:3877"), (3879, "none", "EPSG:3879"),
    (4326, "empty", "EPSG:4326"), (2393, "none", "EPSG:2393")])
def test_missing_crs_asks_for_crs_and_suggests_one(tmp_path, load, crs, prj, hint):
    shp = make_vector(tmp_path / "a.shp", crs=crs, n=5, invalid=0, prj=prj, encoding="utf-8")
    with pytest.raises(ImportFailed) as failure:
        load(shp)
    assert "--crs" in failure.value.detail
    assert hint in failure.value.detail


@pytest.mark.parametrize("given", ["EPSG:3067", "epsg:3067", "3067", 3067,
                                   "urn:ogc:def:crs:EPSG::3067"])
def test_crs_override_forms(tmp_path, load, given):
    shp = make_vector(tmp_path / "a.shp", n=5, invalid=0, prj="none", encoding="utf-8")
    layer = load(shp, crs=given)
    assert layer.report.source_crs == "EPSG:3067"
    assert layer.report.warnings == ()


def test_crs_override_differing_from_file_warns(tmp_path, load):
    shp = make_vector(tmp_path / "a.shp", crs=3067, n=5, invalid=0, encoding="utf-8")
    layer = load(shp, crs="EPSG:3047")
    assert layer.report.source_crs == "EPSG:3047"
    assert any("declares EPSG:3067" in w for w in layer.report.warnings)


def test_bad_crs_override_is_refused(tmp_path, load):
    shp = make_vector(tmp_path / "a.shp", n=5, invalid=0, prj="none", encoding="utf-8")
    with pytest.raises(ImportFailed, match="not a CRS code"):
        load(shp, crs="Finland please")
    with pytest.raises(ImportFailed, match="PROJ knows"):
        load(shp, crs="EPSG:99999")


def test_invalid_polygons_are_repaired_and_counted(tmp_path, load):
    gpkg = make_vector(tmp_path / "a.gpkg", n=50, invalid=3, fmt="gpkg")
    layer = load(gpkg)
    assert layer.report.repaired == 3
    assert layer.report.feature_count == 50
    assert shapely.is_valid(layer.frame.geometry.values).all()
    assert layer.report.geometry_type == "MultiPolygon"
    assert set(layer.frame.geometry.geom_type) == {"MultiPolygon"}


def test_mixed_single_and_multi_are_promoted(tmp_path, load):
    geoms = polygons(3067, 6)
    geoms[4] = shapely.MultiPolygon([geoms[4], geoms[5]])
    gpkg = make_vector(tmp_path / "mixed.gpkg", n=5, fmt="gpkg", geometries=geoms[:5])
    layer = load(gpkg)
    assert layer.report.geometry_type == "MultiPolygon"
    assert list(shapely.get_num_geometries(layer.frame.geometry.values)) == [1, 1, 1, 1, 2]


def test_mixed_families_stay_geometry_with_a_warning(tmp_path, load):
    src = tmp_path / "mixed.geojson"
    src.write_text(_feature_collection([
        {"type": "Point", "coordinates": [24.9, 60.2]},
        {"type": "Polygon", "coordinates": [[[24, 60], [25, 60], [25, 61], [24, 60]]]}]))
    layer = load(src)
    assert layer.report.geometry_type == "Geometry"
    assert any("mixes" in w for w in layer.report.warnings)


def test_empty_and_null_geometries_are_dropped_and_counted(tmp_path, load):
    src = tmp_path / "gaps.geojson"
    src.write_text(_feature_collection([
        {"type": "Point", "coordinates": [24.9, 60.2]}, None,
        {"type": "Point", "coordinates": []}, {"type": "Point", "coordinates": [25, 60.3]}]))
    layer = load(src)
    assert layer.report.feature_count == 2
    assert layer.report.dropped == 2
    assert list(layer.frame["n"]) == [0, 3]


def test_z_is_dropped(tmp_path, load):
    src = tmp_path / "z.geojson"
    src.write_text(_feature_collection([
        {"type": "LineString", "coordinates": [[24.9, 60.2, 12.0], [25.0, 60.3, 14.0]]}]))
    layer = load(src)
    assert not shapely.has_z(layer.frame.geometry.values).any()
    assert layer.report.geometry_type == "LineString"


@pytest.mark.parametrize("geometry", [
    {"type": "LineString", "coordinates": [[24.9, 60.2], ["NaN", 60.3]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], ["Infinity", 1], [0, 0]]]},
    {"type": "Point", "coordinates": [1e300, 60.2]},
    {"type": "LineString", "coordinates": [[24.9, 60.2], [25.0, 1e300]]}])
def test_non_finite_or_absurd_coordinates_are_refused(tmp_path, load, geometry):
    text = _feature_collection([{"type": "Point", "coordinates": [24.9, 60.2]}, geometry])
    src = tmp_path / "bad.geojson"
    src.write_text(text.replace('"NaN"', "NaN").replace('"Infinity"', "Infinity"))
    with pytest.raises(ImportFailed, match="feature 2"):
        load(src)


def test_projected_coordinates_beyond_range_are_refused(tmp_path, load):
    src = tmp_path / "far.geojson"
    src.write_text(_feature_collection(
        [{"type": "Point", "coordinates": [385000, 6672000]},
         {"type": "Point", "coordinates": [1e300, 6672000]}], "urn:ogc:def:crs:EPSG::3067"))
    with pytest.raises(ImportFailed, match="outside the valid range of EPSG:3067"):
        load(src)


def test_legacy_geojson_crs_member_is_honoured(tmp_path, load):
    x, y, _ = origin(3877)
    src = tmp_path / "gk23.geojson"
    src.write_text(_feature_collection([{"type": "Point", "coordinates": [x, y]}],
                                       "urn:ogc:def:crs:EPSG::3877"))
    layer = load(src)
    assert layer.report.source_crs == "EPSG:3877"
    lon, lat = shapely.get_coordinates(layer.frame.geometry[0])[0]
    assert np.isclose(lon, 24.94)
    assert np.isclose(lat, 60.17)


def test_data_outside_the_crs_area_warn(tmp_path, load):
    shp = make_vector(tmp_path / "a.shp", crs=3067, n=3, invalid=0, prj="none",
                      encoding="utf-8")
    layer = load(shp, crs="EPSG:3021")
    assert any("outside the area" in w for w in layer.report.warnings)


def test_attribute_types_are_kept(tmp_path, load):
    frame = pd.DataFrame({
        "i": [1, 2, None], "f": [1.5, None, 2.5], "b": [True, False, None],
        "s": ["å", None, "ö"], "d": [dt.date(2024, 5, 1), None, dt.date(2024, 5, 3)],
        "t": pd.to_datetime(["2024-05-01T10:00", None, "2024-05-03T12:30"])})
    frame["i"] = frame["i"].astype("Int64")
    frame["b"] = frame["b"].astype("boolean")
    gdf = gpd.GeoDataFrame(frame, geometry=polygons(3067, 3), crs=3067)
    path = tmp_path / "types.gpkg"
    pyogrio.write_dataframe(gdf, path, driver="GPKG", use_arrow=True)
    out = load(path).frame
    assert pd.api.types.is_integer_dtype(out["i"])
    assert out["i"][2] is pd.NA
    assert pd.api.types.is_float_dtype(out["f"])
    assert pd.api.types.is_bool_dtype(out["b"])
    assert out["s"][0] == "å"
    assert out["d"][0] == dt.date(2024, 5, 1)
    assert pd.api.types.is_datetime64_any_dtype(out["t"])


def test_attribute_names_are_normalised(tmp_path, load):
    assert clean_names([" Nimi ", "NIMI", "Teho (kW)", "rajoitukset/maksullisuus", "2020",
                        "fid", "Geometry", "geom", "alternativt_manér", "Itä", "%", "a b"]) == [
        "nimi", "nimi_1", "teho_kw", "rajoitukset_maksullisuus", "_2020", "fid_1",
        "geometry_1", "geom_1", "alternativt_manér", "itä", "field", "a_b"]
    shp = make_vector(tmp_path / "a.shp", n=3, invalid=0, encoding="utf-8")
    assert list(load(shp).frame.columns) == ["nimi", "luku", "ala", "pvm", "geometry"]


def test_title_defaults_to_the_file_stem(tmp_path, load):
    shp = make_vector(tmp_path / "Kohteet 2024.shp", n=3, invalid=0, encoding="utf-8")
    assert load(shp).report.title == "Kohteet 2024"
    assert load(shp, title="Kohteet").report.title == "Kohteet"


def test_areas_cut_to_two_corners_are_explained(tmp_path, load):
    """As in the Kotka OSM extract: buildings cut at its edge keep only two of their nodes."""
    good = {"type": "Polygon", "coordinates": [[[26.93, 60.53], [26.931, 60.53],
                                                [26.931, 60.531], [26.93, 60.53]]]}
    cut = {"type": "Polygon", "coordinates": [[[26.9304087, 60.530584],
                                               [26.9304222, 60.5305052],
                                               [26.9304087, 60.530584]]]}
    path = tmp_path / "talot.geojson"
    path.write_text(_feature_collection([good, cut, good]))
    layer = load(path)
    assert layer.report.feature_count == 2 and layer.report.dropped == 1
    [note] = [w for w in layer.report.warnings if "distinct corners" in w]
    assert note.startswith("1 of them are areas with fewer than 3 distinct corners")
    assert "edge of an extract" in note

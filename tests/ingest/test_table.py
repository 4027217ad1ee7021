"""CSV tables: coordinate columns by name and by value range, WKT columns, types, gaps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.builders import origin
from webmap.problems import ImportFailed

TO_GK23 = Transformer.from_crs("OGC:CRS84", 3877, always_xy=True)


def _write(path, lines: list[str], *, newline: str = "\r\n", encoding: str = "utf-8"):
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


def _lonlat(layer, row: int) -> tuple[float, float]:
    x, y = shapely.get_coordinates(layer.frame.geometry[row])[0]
    return float(x), float(y)


def test_northing_first_columns_are_detected(tmp_path, load):
    x, y = TO_GK23.transform(22.25, 60.45)
    src = _write(tmp_path / "laiturit.csv", [
        "Paikka;KeskipisteP;KeskipisteI;Hinta",
        f"Ärjänlaituri;{y:.3f};{x:.3f};1122.0000",
        "Tyhjä;;;814.0000",
        f"Öljysatama;{y + 100:.3f};{x + 100:.3f};900.5"])
    layer = load(src, crs="EPSG:3877")
    assert layer.report.feature_count == 2
    assert layer.report.dropped == 1
    assert np.allclose(_lonlat(layer, 0), (22.25, 60.45))
    assert list(layer.frame["paikka"]) == ["Ärjänlaituri", "Öljysatama"]
    assert layer.frame["hinta"].dtype == np.float64


def test_swapped_columns_are_put_right_by_their_values(tmp_path, load):
    x, y, _ = origin(3067)
    src = _write(tmp_path / "vaarin.csv", ["id,x,y", f"1,{y:.1f},{x:.1f}",
                                           f"2,{y + 10:.1f},{x + 10:.1f}"], newline="\n")
    layer = load(src, crs="EPSG:3067")
    assert np.allclose(_lonlat(layer, 0), (24.94, 60.17))
    assert any("northings" in w for w in layer.report.warnings)


@pytest.mark.parametrize(("header", "crs"), [
    ("lon;lat", "EPSG:4326"), ("Longitude;Latitude", "EPSG:4326"),
    ("itä;pohjoinen", "EPSG:3067"), ("E;N", "EPSG:3067"), ("Easting;Northing", "EPSG:3067"),
    ("koord_x;koord_y", "EPSG:3067")])
def test_coordinate_column_names(tmp_path, load, header, crs):
    if crs == "EPSG:4326":
        x, y = 24.94, 60.17
    else:
        x, y, _ = origin(3067)
    src = _write(tmp_path / "p.csv", [f"nimi;{header}", f"Vänrikki;{x};{y}".replace(".", ",")])
    layer = load(src, crs=crs)
    assert np.allclose(_lonlat(layer, 0), (24.94, 60.17))


def test_explicit_coordinate_columns(tmp_path, load):
    src = _write(tmp_path / "p.csv", ["a,b,c", "Åbo,22.27,60.45"])
    layer = load(src, crs="EPSG:4326", x_column="B", y_column="c")
    assert np.allclose(_lonlat(layer, 0), (22.27, 60.45))
    with pytest.raises(ImportFailed, match="no column 'q'"):
        load(src, crs="EPSG:4326", x_column="q", y_column="c")
    with pytest.raises(ImportFailed, match="both"):
        load(src, crs="EPSG:4326", x_column="b")


def test_no_coordinate_columns_explains_what_to_add(tmp_path, load):
    src = _write(tmp_path / "p.csv", ["nimi;osoite", "Kirjasto;Hämeenkatu 1"])
    with pytest.raises(ImportFailed, match="x_column"):
        load(src, crs="EPSG:3067")


def test_wkt_column(tmp_path, load):
    src = _write(tmp_path / "alueet.csv", [
        'WKT;nimi', '"POLYGON ((24.9 60.1, 25.0 60.1, 25.0 60.2, 24.9 60.1))";Töölö',
        '"POINT (24.95 60.15)";Kallio', ';Tyhjä'])
    layer = load(src, crs="EPSG:4326")
    assert layer.report.feature_count == 2
    assert layer.report.dropped == 1
    assert layer.report.geometry_type == "Geometry"
    assert "wkt" not in layer.frame.columns
    assert list(layer.frame["nimi"]) == ["Töölö", "Kallio"]


def test_named_wkt_column_with_srid(tmp_path, load):
    x, y, _ = origin(3067)
    src = _write(tmp_path / "ewkt.csv", ["id,sijainti", f'1,"SRID=3067;POINT ({x} {y})"'])
    layer = load(src, wkt_column="sijainti")
    assert layer.report.source_crs == "EPSG:3067"
    assert np.allclose(_lonlat(layer, 0), (24.94, 60.17))


def test_csv_without_crs_suggests_gk_zone(tmp_path, load):
    x, y = TO_GK23.transform(22.25, 60.45)
    src = _write(tmp_path / "p.csv", ["X;Y", f"{x:.0f};{y:.0f}"])
    with pytest.raises(ImportFailed, match=r"--crs.*EPSG:3877"):
        load(src)


def test_cp1252_csv_is_decoded(tmp_path, load):
    src = _write(tmp_path / "vanha.csv", ["nimi;lon;lat", "Hämeenlinna;24.46;61.0"],
                 encoding="cp1252")
    layer = load(src, crs="EPSG:4326")
    assert layer.frame["nimi"][0] == "Hämeenlinna"
    assert any("cp1252" in w for w in layer.report.warnings)


def test_text_columns_get_types(tmp_path, load):
    src = _write(tmp_path / "t.csv", [
        "lon;lat;koodi;määrä;hinta;aktiivinen;pvm;päivitetty;aika",
        "24.9;60.1;091;4;1,5;true;12.5.2022;2022-05-12;2022-05-12 07:00:00",
        "24.9;60.2;005;;2;false;1.6.2022;2022-06-01;2022-06-01T08:30:00"])
    out = load(src, crs="EPSG:4326").frame
    assert list(out["koodi"]) == ["091", "005"]
    assert out["määrä"].dtype == "Int64"
    assert list(out["hinta"]) == [1.5, 2.0]
    assert list(out["aktiivinen"]) == [True, False]
    assert out["pvm"][0] == dt.date(2022, 5, 12)
    assert out["päivitetty"][1] == dt.date(2022, 6, 1)
    assert str(out["aika"].dtype).startswith("datetime64")

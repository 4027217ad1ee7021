"""Recognising formats by content and reading them: layers, encodings, progress, bad files."""

from __future__ import annotations

import json
import os

import pytest

from tests.builders import make_gpkg_layers, make_vector, make_wal_gpkg
from webmap.ingest import read
from webmap.ingest.read import Format, sniff
from webmap.problems import ImportFailed


def test_cp1252_dbf_without_cpg_keeps_scandinavian_letters(tmp_path, load):
    shp = make_vector(tmp_path / "vanha.shp", n=20, invalid=0, encoding="cp1252")
    assert not shp.with_suffix(".cpg").exists()
    layer = load(shp)
    assert list(layer.frame["nimi"][:3]) == ["Hämeenlinna 0", "Åland 1", "Pöytyä 2"]
    assert any("cp1252" in w for w in layer.report.warnings)


def test_encoding_option_is_honoured(tmp_path, load):
    shp = make_vector(tmp_path / "latin.shp", n=5, invalid=0, encoding="iso-8859-1")
    layer = load(shp, encoding="iso-8859-1")
    assert layer.frame["nimi"][1] == "Åland 1"
    assert not any("cp1252" in w for w in layer.report.warnings)


def test_unknown_encoding_name_is_refused(tmp_path, load):
    shp = make_vector(tmp_path / "a.shp", n=5, invalid=0, encoding="utf-8")
    with pytest.raises(ImportFailed, match="not a text encoding"):
        load(shp, encoding="klingon-8")


def test_geopackage_with_several_layers_lists_them(tmp_path, load):
    gpkg = make_gpkg_layers(tmp_path / "kaava.gpkg", {"alueet": 5, "rajat": 7, "pisteet": 2})
    with pytest.raises(ImportFailed) as failure:
        load(gpkg)
    for name in ("alueet", "rajat", "pisteet", "--layer"):
        assert name in failure.value.detail
    assert load(gpkg, layer="rajat").report.feature_count == 7
    with pytest.raises(ImportFailed, match="no layer 'tiet'.*alueet"):
        load(gpkg, layer="tiet")


def test_geopackage_with_uncommitted_wal_reads_completely(tmp_path, load):
    gpkg = make_wal_gpkg(tmp_path / "wal.gpkg", n=20, extra=5)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("wal.gpkg*")}
    assert set(before) == {"wal.gpkg", "wal.gpkg-wal", "wal.gpkg-shm"}
    layer = load(gpkg)
    assert layer.report.feature_count == 25
    assert layer.frame["nimi"].iloc[-1] == "Wal-Åsa 4"
    assert {p.name: p.read_bytes() for p in tmp_path.glob("wal.gpkg*")} == before


def test_geopackage_named_otherwise_is_recognised(tmp_path, load):
    gpkg = make_vector(tmp_path / "a.gpkg", n=4, invalid=0, fmt="gpkg")
    renamed = gpkg.rename(tmp_path / "upload.bin")
    assert sniff(renamed) is Format.GPKG
    assert load(renamed).report.feature_count == 4


def test_geojson_named_otherwise_is_recognised(tmp_path, load):
    src = make_vector(tmp_path / "a.geojson", n=4, invalid=0, fmt="geojson")
    renamed = src.rename(tmp_path / "upload")
    assert load(renamed).report.feature_count == 4


def test_truncated_geopackage_is_refused(tmp_path, load):
    gpkg = make_vector(tmp_path / "full.gpkg", n=2000, invalid=0, fmt="gpkg")
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(gpkg.read_bytes()[: gpkg.stat().st_size // 3])
    with pytest.raises(ImportFailed, match="cut.gpkg"):
        load(cut)


def test_html_named_geojson_is_refused(tmp_path, load):
    page = tmp_path / "kohteet.geojson"
    page.write_text("<!DOCTYPE html>\n<html><head><title>404</title></head><body>Not found"
                    "</body></html>")
    with pytest.raises(ImportFailed, match="HTML web page"):
        load(page)


def test_random_bytes_are_refused(tmp_path, load):
    junk = tmp_path / "data.shp"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(ImportFailed, match="not a format webmap reads|binary data"):
        load(junk)


def test_empty_file_is_refused(tmp_path, load):
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(ImportFailed, match="empty"):
        load(empty)


def test_empty_feature_collection_is_refused(tmp_path, load):
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(ImportFailed, match="no features"):
        load(empty)


def test_json_that_is_not_geojson_is_refused(tmp_path, load):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"planKey": "x", "geographicalArea": {"srid": "3879"}}))
    with pytest.raises(ImportFailed, match="Ryhti"):
        load(plan)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": [1, 2, 3]}))
    with pytest.raises(ImportFailed, match="not GeoJSON"):
        load(other)


def test_missing_file_is_refused(tmp_path, load):
    with pytest.raises(ImportFailed, match="no such file"):
        load(tmp_path / "nothing.gpkg")


def test_progress_is_reported_in_batches(tmp_path, load, monkeypatch):
    monkeypatch.setattr(read, "BATCH_ROWS", 100)
    gpkg = make_vector(tmp_path / "a.gpkg", n=450, invalid=0, fmt="gpkg")
    calls: list[tuple[int, int]] = []
    load(gpkg, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(100, 450), (200, 450), (300, 450), (400, 450), (450, 450)]


def test_progress_during_legacy_encoding_fallback(tmp_path, load, monkeypatch):
    monkeypatch.setattr(read, "BATCH_ROWS", 100)
    shp = make_vector(tmp_path / "a.shp", n=250, invalid=0, encoding="cp1252")
    calls: list[tuple[int, int]] = []
    layer = load(shp, on_progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (250, 250)
    assert layer.frame["nimi"][246] == "Åland 246"

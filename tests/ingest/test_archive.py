"""ZIP uploads: read the one data set inside, refuse bombs, traversal, links and nesting."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.builders import (
    make_symlink_zip,
    make_vector,
    make_zip,
    make_zip_bomb,
    zip_shapefile,
)
from webmap.ingest.archive import extract_zip
from webmap.problems import ImportFailed


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()]


def test_zipped_shapefile_in_a_subfolder_is_read(tmp_path, load):
    shp = make_vector(tmp_path / "src" / "kohteet.shp", n=40, invalid=0, encoding="utf-8")
    archive = zip_shapefile(tmp_path / "upload.zip", shp, folder="aineisto/2024/")
    layer = load(archive)
    assert layer.report.feature_count == 40
    assert layer.report.source_crs == "EPSG:3067"
    assert layer.report.title == "upload"
    assert layer.frame["nimi"][0] == "Hämeenlinna 0"


def test_mac_resource_forks_are_ignored(tmp_path, load):
    shp = make_vector(tmp_path / "src" / "a.shp", n=5, invalid=0, encoding="utf-8")
    members: dict[str, bytes | Path] = {f.name: f for f in shp.parent.iterdir()}
    members["__MACOSX/._a.shp"] = b"\x00\x05\x16\x07junk"
    members["._a.shp"] = b"\x00\x05\x16\x07junk"
    assert load(make_zip(tmp_path / "mac.zip", members)).report.feature_count == 5


def test_several_data_sets_are_listed_and_layer_picks_one(tmp_path, load):
    a = make_vector(tmp_path / "src" / "tiet.geojson", n=3, invalid=0, fmt="geojson")
    b = make_vector(tmp_path / "src" / "talot.gpkg", n=4, invalid=0, fmt="gpkg")
    archive = make_zip(tmp_path / "two.zip", {"tiet.geojson": a, "sub/talot.gpkg": b,
                                               "LUEMINUT.txt": b"Aineisto, versio 1\n"})
    with pytest.raises(ImportFailed) as failure:
        load(archive)
    assert "tiet.geojson" in failure.value.detail
    assert "sub/talot.gpkg" in failure.value.detail
    assert "--layer" in failure.value.detail
    assert load(archive, layer="talot").report.feature_count == 4


def test_zip_without_data_is_refused(tmp_path, load):
    archive = make_zip(tmp_path / "docs.zip", {"readme.md": b"# Hello\n\nNo data here.\n"})
    with pytest.raises(ImportFailed, match="no data file"):
        load(archive)


def test_zip_bomb_is_refused_before_expanding(tmp_path, workdir, load):
    bomb = make_zip_bomb(tmp_path / "bomb.zip", megabytes=200)
    assert bomb.stat().st_size < 2_000_000
    with pytest.raises(ImportFailed, match="compression bomb"):
        load(bomb)
    assert not any(p.is_file() for p in workdir.rglob("*"))


def test_total_size_limit(tmp_path):
    archive = make_zip(tmp_path / "big.zip", {"a.csv": b"x;y\n" + b"1;2\n" * 5000})
    with pytest.raises(ImportFailed, match="MiB allowed"):
        extract_zip(archive, tmp_path / "out", max_total_bytes=1000)


def test_lying_member_size_is_caught_while_extracting(tmp_path):
    archive = make_zip(tmp_path / "liar.zip", {"data.csv": b"x;y\n" + b"1;2\n" * 1000})
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24:central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ImportFailed):
        extract_zip(archive, out)
    assert _files(out) == []


@pytest.mark.parametrize("member", ["../evil.geojson", "a/../../evil.geojson", "{abs}",
                                    "C:/evil.geojson", "..\\evil.geojson"])
def test_path_traversal_is_refused(tmp_path, workdir, load, member):
    outside = tmp_path / "abs" / "evil.geojson"
    member = member.format(abs=outside)
    archive = make_zip(tmp_path / "trav.zip", {member: b'{"type":"FeatureCollection"}'})
    with pytest.raises(ImportFailed, match="outside the archive"):
        load(archive)
    assert not (tmp_path / "evil.geojson").exists()
    assert not outside.exists()
    assert _files(workdir) == []


def test_symlink_member_is_refused(tmp_path, workdir, load):
    with pytest.raises(ImportFailed, match="symbolic link"):
        load(make_symlink_zip(tmp_path / "link.zip"))
    assert _files(workdir) == []


def test_too_many_members_are_refused(tmp_path, workdir, load):
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(1001)})
    with pytest.raises(ImportFailed, match="1001 members"):
        load(archive)
    assert _files(workdir) == []


def test_nested_zip_is_refused(tmp_path, workdir, load):
    inner = make_zip(tmp_path / "inner.zip", {"a.geojson": b"{}"})
    outer = make_zip(tmp_path / "outer.zip", {"data/inner.zip": inner})
    with pytest.raises(ImportFailed, match="another archive"):
        load(outer)
    assert _files(workdir) == []


def test_damaged_zip_is_refused(tmp_path, load):
    shp = make_vector(tmp_path / "src" / "a.shp", n=5, invalid=0, encoding="utf-8")
    archive = zip_shapefile(tmp_path / "cut.zip", shp)
    archive.write_bytes(archive.read_bytes()[:300])
    with pytest.raises(ImportFailed):
        load(archive)


def test_extract_returns_written_files_inside_dest(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", {"a/b.txt": b"1", "c.txt": b"2"})
    out = tmp_path / "out"
    out.mkdir()
    files = extract_zip(archive, out)
    assert sorted(f.relative_to(out).as_posix() for f in files) == ["a/b.txt", "c.txt"]
    assert zipfile.is_zipfile(archive)

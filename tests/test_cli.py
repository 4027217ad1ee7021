"""The ``webmap`` command: import reports, one-line errors with exit 2, list, remove, demo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.builders import make_gpkg_layers, make_vector, make_zip
from tests.conftest import ROOT, open_app
from webmap.cli import main
from webmap.services import services_of
from webmap.settings import Settings

REPORT_RE = re.compile(
    r"imported (?P<layer_id>\S+): (?P<kind>\w+), (?P<feature_count>\d+) features "
    r"\((?P<geometry_type>\w+)\) from (?P<source_crs>\S+)\n"
    r"  bbox \(lon/lat\): (?P<bbox>[-\d., ]+)\n"
    r"  repaired: (?P<repaired>\d+), dropped: (?P<dropped>\d+)\n")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The data directory the command works on."""
    return tmp_path / "data"


@pytest.fixture
def webmap(data_dir: Path) -> Any:
    """``webmap(*args)`` runs the command in-process with WEBMAP_* pointing at tmp_path."""
    runner = CliRunner()
    env = {"WEBMAP_DATA_DIR": str(data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers"),
           "WEBMAP_DATABASE_URL": "", "WEBMAP_LOG_LEVEL": "WARNING"}

    def run(*args: str | Path) -> Result:
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    return run


@pytest.fixture
def roads(tmp_path: Path) -> Path:
    """A cp1252 Shapefile of 20 squares in EPSG:3067, three of them invalid."""
    return make_vector(tmp_path / "src" / "tiet.shp", n=20, invalid=3, encoding="cp1252")


def assert_one_error_line(result: Result, *mentions: str) -> str:
    """Exit 2, nothing on stdout, one ``error:`` line on stderr naming the problem."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for word in mentions:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


def served(data_dir: Path, layer_id: str) -> tuple[Any, Any, Any]:
    """The collection, all its items (without the time stamp) and the catalogue entry."""
    app = open_app(Settings(data_dir=data_dir, layers_dir=ROOT / "layers"))
    client = app.test_client()
    collection = client.get(f"/collections/{layer_id}")
    items = client.get(f"/collections/{layer_id}/items?limit=1000")
    assert collection.status_code == items.status_code == 200
    body = items.get_json()
    del body["timeStamp"]
    return collection.get_json(), body, services_of(app).layers.layer(layer_id)


def test_import_prints_the_report(webmap: Any, roads: Path) -> None:
    result = webmap("layers", "import", roads, "--id", "tiet", "--title", "Tiet – vägar")
    assert result.exit_code == 0, result.stderr
    match = REPORT_RE.search(result.stdout)
    assert match, result.stdout
    assert match["layer_id"] == "tiet"
    assert match["kind"] == "vector"
    assert match["feature_count"] == "20"
    assert match["source_crs"] == "EPSG:3067"
    assert match["repaired"] == "3"
    assert match["dropped"] == "0"
    minx, miny, maxx, maxy = (float(v) for v in match["bbox"].split(","))
    assert 24.9 < minx < maxx < 25.0
    assert 60.1 < miny < maxy < 60.2
    assert "warning: 3 invalid geometries were repaired" in result.stdout


def test_import_json_report_says_the_same(webmap: Any, roads: Path) -> None:
    text = webmap("layers", "import", roads, "--id", "tiet")
    as_json = webmap("layers", "import", roads, "--id", "tiet2", "--json")
    assert text.exit_code == as_json.exit_code == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    match = REPORT_RE.search(text.stdout)
    assert match
    assert report["layer_id"] == "tiet2"
    assert report["kind"] == match["kind"]
    assert report["feature_count"] == int(match["feature_count"])
    assert report["geometry_type"] == match["geometry_type"]
    assert report["source_crs"] == match["source_crs"]
    assert report["repaired"] == int(match["repaired"]) == 3
    assert report["dropped"] == int(match["dropped"]) == 0
    shown = [float(v) for v in match["bbox"].split(",")]
    assert report["bbox"] == pytest.approx(shown, abs=1e-5)
    assert report["warnings"] == re.findall(r"^  warning: (.*)$", text.stdout, re.MULTILINE)


def _broken_geojson(folder: Path) -> Path:
    path = folder / "katkennut.geojson"
    path.write_bytes(b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geom')
    return path


def _binary(folder: Path) -> Path:
    path = folder / "data.geojson"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def _traversal_zip(folder: Path) -> Path:
    return make_zip(folder / "tiet.zip", {"../../tiet.geojson": b'{"type": "FeatureCollection"}'})


@pytest.mark.parametrize(("make_bad", "mentions"), [
    (_broken_geojson, ("katkennut.geojson", "could not be read")),
    (_binary, ("not a format webmap reads",)),
    (_traversal_zip, ("outside the archive",)),
], ids=["truncated-geojson", "binary", "zip-path-traversal"])
def test_bad_file_fails_on_one_line_and_leaves_the_layer_serving(
        webmap: Any, roads: Path, data_dir: Path, tmp_path: Path, make_bad: Any,
        mentions: tuple[str, ...]) -> None:
    assert webmap("layers", "import", roads, "--id", "tiet").exit_code == 0
    before = served(data_dir, "tiet")
    result = webmap("layers", "import", make_bad(tmp_path), "--id", "tiet")
    assert_one_error_line(result, *mentions)
    assert served(data_dir, "tiet") == before
    assert not any((data_dir / "tmp").iterdir()), "scratch files left behind"
    assert len(list((data_dir / "layers" / "tiet").iterdir())) == 1


def test_shapefile_without_prj_asks_for_crs(webmap: Any, tmp_path: Path) -> None:
    lakes = make_vector(tmp_path / "src" / "jarvet.shp", n=5, invalid=0, prj="none")
    result = webmap("layers", "import", lakes, "--id", "jarvet")
    assert_one_error_line(result, "--crs", "EPSG:3067")
    assert webmap("layers", "list").stdout == ""
    fixed = webmap("layers", "import", lakes, "--id", "jarvet", "--crs", "EPSG:3067")
    assert fixed.exit_code == 0, fixed.stderr
    assert "5 features" in fixed.stdout


def test_geopackage_with_several_layers_lists_them(webmap: Any, tmp_path: Path) -> None:
    path = make_gpkg_layers(tmp_path / "kaava.gpkg", {"tiet": 3, "alueet": 4})
    result = webmap("layers", "import", path, "--id", "kaava")
    assert_one_error_line(result, "--layer", "tiet", "alueet")
    chosen = webmap("layers", "import", path, "--id", "kaava", "--layer", "alueet")
    assert chosen.exit_code == 0, chosen.stderr
    assert "4 features" in chosen.stdout


def test_list_and_remove(webmap: Any, roads: Path, data_dir: Path) -> None:
    assert webmap("layers", "import", roads, "--id", "tiet", "--title", "Tiet – vägar"
                  ).exit_code == 0
    listed = webmap("layers", "list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines() == ["tiet\tvector\t20\tEPSG:3067\tTiet – vägar"]
    removed = webmap("layers", "remove", "tiet")
    assert removed.exit_code == 0, removed.stderr
    assert "removed tiet" in removed.stdout
    assert webmap("layers", "list").stdout == ""
    assert not (data_dir / "layers" / "tiet").exists()
    assert_one_error_line(webmap("layers", "remove", "tiet"), "tiet")


def test_demo_twice_is_idempotent(webmap: Any, data_dir: Path) -> None:
    manifest = json.loads((ROOT / "layers" / "demo" / "demo.json").read_text("utf-8"))
    plans = [entry["id"] for entry in manifest["plans"]]
    ids = [entry["id"] for entry in manifest["layers"]] + [f"{p}-areas" for p in plans]
    built = [f"helsinki-osm-{family}" for family in
             ("water", "green", "buildings", "streets", "places")]
    first = webmap("demo")
    assert first.exit_code == 0, first.stderr
    assert [m["layer_id"] for m in REPORT_RE.finditer(first.stdout)] == ids
    assert [line.split(":")[0] for line in first.stdout.splitlines()
            if line.startswith("imported plan ")] == [f"imported plan {p}" for p in plans]
    assert first.stdout.splitlines()[-1].startswith("base map helsinki-osm: helsinki-osm-water")
    listed = webmap("layers", "list").stdout
    assert sorted(line.split("\t")[0] for line in listed.splitlines()) == sorted(ids + built)
    versions = {p.name for p in (data_dir / "layers").rglob("*") if p.is_file()}
    second = webmap("demo")
    assert second.exit_code == 0, second.stderr
    assert second.stdout.splitlines() == [f"{i}: already imported" for i in ids[:-len(plans)]
                                          ] + [f"plan {p}: already imported" for p in plans] + [
        "base map helsinki-osm: already built"]
    assert webmap("layers", "list").stdout == listed
    assert {p.name for p in (data_dir / "layers").rglob("*") if p.is_file()} == versions

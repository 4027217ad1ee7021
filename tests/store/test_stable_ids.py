"""Feature ids across a replacement, on both backends: items, paging and tiles agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from webmap.cli import main
from webmap.services import services_of
from webmap.settings import Settings


def write(path: Path, keys: list[str]) -> Path:
    features = [{"type": "Feature", "properties": {"objectid": k, "nimi": f"Alue {k}"},
                 "geometry": {"type": "Point", "coordinates": [24.9 + i / 100, 60.2]}}
                for i, k in enumerate(keys)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def cli(settings: Settings, *args: str) -> Any:
    env = {"WEBMAP_DATA_DIR": str(settings.data_dir),
           "WEBMAP_LAYERS_DIR": str(settings.layers_dir),
           "WEBMAP_DATABASE_URL": settings.database_url or ""}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_ids_survive_a_replacement_and_paging_skips_the_gaps(
        settings: Settings, app: Any, tmp_path: Path) -> None:
    cli(settings, "layers", "import", str(write(tmp_path / "a.geojson", list("abcdef"))),
        "--id", "alueet")
    report = json.loads(cli(settings, "layers", "import",
                            str(write(tmp_path / "b.geojson", list("fbxd"))), "--id",
                            "alueet", "--json").stdout)
    assert report["id_field"] == "objectid"
    client = app.test_client()
    body = client.get("/collections/alueet/items?limit=100").get_json()
    assert [(f["id"], f["properties"]["objectid"]) for f in body["features"]] == [
        (2, "b"), (4, "d"), (6, "f"), (7, "x")]
    assert body["numberMatched"] == 4
    page = client.get("/collections/alueet/items?limit=1&offset=2").get_json()
    assert [f["id"] for f in page["features"]] == [6]
    assert client.get("/collections/alueet/items/7").get_json()["properties"]["nimi"] == "Alue x"
    assert client.get("/collections/alueet/items/1").status_code == 404
    info = services_of(app).layers.layer("alueet")
    assert (info.id_field, info.max_fid, info.feature_count) == ("objectid", 7, 4)


def test_id_field_none_numbers_features_in_file_order(settings: Settings, app: Any,
                                                      tmp_path: Path) -> None:
    cli(settings, "layers", "import", str(write(tmp_path / "a.geojson", list("abc"))),
        "--id", "alueet", "--id-field", "none")
    assert services_of(app).layers.layer("alueet").id_field == ""
    out = cli(settings, "layers", "import", str(write(tmp_path / "b.geojson", list("cab"))),
              "--id", "alueet", "--id-field", "none")
    assert "positions in the file" in out.stdout
    items = app.test_client().get("/collections/alueet/items").get_json()["features"]
    assert [(f["id"], f["properties"]["objectid"]) for f in items] == [
        (1, "c"), (2, "a"), (3, "b")]

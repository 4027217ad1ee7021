"""``webmap comments list | export | purge-personal-data`` on both backends."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner, Result

from tests.comments.conftest import LINE, Poster, comment, map_file, new_key, write_maps
from webmap.cli import main
from webmap.settings import Settings

Run = Callable[..., Result]


@pytest.fixture
def webmap(settings: Settings) -> Run:
    """``webmap(*args)`` in-process, on the test's data directory, maps and backend."""
    runner = CliRunner()
    env = {"WEBMAP_DATA_DIR": str(settings.data_dir), "WEBMAP_LAYERS_DIR": str(settings.layers_dir),
           "WEBMAP_DATABASE_URL": settings.database_url or "", "WEBMAP_LOG_LEVEL": "WARNING"}

    def run(*args: str | Path) -> Result:
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    return run


@pytest.fixture
def three(post: Poster) -> list[str]:
    """Three comments on ``kaava``: two with a name, one with an e-mail, one formula."""
    bodies = [comment(text="Ensimmäinen\nrivi", email=None),
              comment(text="=2+2", geometry=LINE, name="Bo Ek", email="bo@example.fi"),
              comment(text="Nimetön", name=None, email=None, language="en")]
    return [post(body, key=new_key()).get_json()["id"] for body in bodies]


def test_list_shows_comments_without_personal_data(webmap: Run, three: list[str]) -> None:
    result = webmap("comments", "list", "kaava")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == three
    first = lines[0].split("\t")
    assert first[2:5] == ["pending", "fi", "Point"] and first[5] == "Ensimmäinen rivi"
    assert lines[1].split("\t")[4] == "LineString"
    assert "Åsa" not in result.stdout and "bo@example.fi" not in result.stdout
    assert "3 comments on kaava" in result.stderr
    assert webmap("comments", "list", "kaava", "--status", "published").stdout == ""


def test_export_each_format(webmap: Run, three: list[str], tmp_path: Path) -> None:
    geojson = webmap("comments", "export", "kaava")
    assert geojson.exit_code == 0
    features = json.loads(geojson.stdout)["features"]
    assert [f["id"] for f in features] == three
    assert features[1]["properties"]["email"] == "bo@example.fi"

    written = webmap("comments", "export", "kaava", "--format", "csv", "--output",
                     tmp_path / "out" / "kommentit.csv")
    assert written.exit_code == 0 and "exported 3 comments" in written.stderr
    data = (tmp_path / "out" / "kommentit.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert [r["text"] for r in rows] == ["Ensimmäinen\nrivi", "'=2+2", "Nimetön"]
    assert rows[0]["name"] == "Åsa Öberg"

    target = tmp_path / "kommentit.gpkg"
    target.write_bytes(b"an older export")
    assert webmap("comments", "export", "kaava", "--format", "gpkg", "--output",
                  target).exit_code == 0
    frame = pyogrio.read_dataframe(target)
    assert list(frame["id"]) == three and frame.crs.to_epsg() == 4326
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".comments-")] == []


def test_a_geopackage_needs_an_output_file(webmap: Run) -> None:
    result = webmap("comments", "export", "kaava", "--format", "gpkg")
    assert result.exit_code == 2 and "--output" in result.stderr


def test_purge_refuses_while_open_unless_forced(webmap: Run, three: list[str]) -> None:
    refused = webmap("comments", "purge-personal-data", "kaava")
    assert refused.exit_code == 2 and refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("error: ") and "--force" in line
    assert "Åsa Öberg" in webmap("comments", "export", "kaava").stdout
    forced = webmap("comments", "purge-personal-data", "kaava", "--force")
    assert forced.exit_code == 0
    assert forced.stdout.strip() == ("removed personal data from 2 comments on kaava "
                                     "(names: 2, e-mails: 1, photos: 0)")
    exported = webmap("comments", "export", "kaava").stdout
    assert "Åsa" not in exported and "bo@example.fi" not in exported
    assert "=2+2" in exported


def test_purge_after_closing(webmap: Run, three: list[str], settings: Settings) -> None:
    write_maps(settings.layers_dir, {"kaava": map_file("kaava",
                                                       closes="2021-01-01T00:00:00+02:00")})
    result = webmap("comments", "purge-personal-data", "kaava")
    assert result.exit_code == 0, result.stderr
    assert "from 2 comments" in result.stdout


def test_a_map_no_longer_defined_keeps_its_comments(webmap: Run, three: list[str],
                                                     settings: Settings) -> None:
    (settings.layers_dir / "maps" / "kaava.json").unlink()
    listed = webmap("comments", "list", "kaava")
    assert listed.exit_code == 0 and "not defined" in listed.stderr
    assert len(listed.stdout.splitlines()) == 3
    assert "from 2 comments" in webmap("comments", "purge-personal-data", "kaava").stdout


def test_help_lists_the_commands(webmap: Run) -> None:
    text = webmap("comments", "--help").stdout
    for command in ("list", "export", "purge-personal-data"):
        assert command in text

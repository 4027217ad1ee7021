"""Staff: moderation, exports read back with pyogrio, personal data kept out of public view."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyogrio
import pytest

from tests.comments.conftest import AREA, INSIDE, LINE, Poster, auth, comment, new_key
from tests.conftest import assert_problem
from webmap.comments.export import escape_cell
from webmap.services import services_of

NAMES = ("Åsa Öberg", "Matti Meikäläinen", "=HYPERLINK(\"http://x\")")
EMAILS = ("asa@example.fi", "matti@example.fi", "x@example.fi")


@pytest.fixture
def posted(post: Poster, plan: str) -> dict[str, str]:
    """Five comments on map ``kaava``: point, line, area, plan feature, formula text."""
    bodies = {
        "point": comment(text="Puisto tähän, kiitos – ä ö å", name=NAMES[0], email=EMAILS[0]),
        "line": comment(text="Pyörätie\nkulkisi näin", geometry=LINE, name=NAMES[1],
                        email=EMAILS[1], language="sv"),
        "area": comment(text="=1+1", geometry=AREA, name=NAMES[2], email=EMAILS[2]),
        "feature": comment(text="-5 astetta ja @kaikki", geometry=None, name=None, email=None,
                           feature={"collection": plan, "id": 4}, language="en"),
        "both": comment(text="+358 40 123", feature={"collection": plan, "id": 5}, name=None,
                        email=None),
    }
    ids = {}
    for label, body in bodies.items():
        response = post(body, key=new_key())
        assert response.status_code == 201, response.get_json()
        ids[label] = response.get_json()["id"]
    return ids


def staff_export(client: Any, token: str, fmt: str = "geojson", **params: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **params}.items())
    response = client.get(f"/admin/api/maps/kaava/comments?{query}", headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


def publish(client: Any, token: str, comment_id: str, status: str = "published") -> Any:
    return client.patch(f"/admin/api/comments/{comment_id}", json={"status": status},
                        headers=auth(token))


def test_staff_endpoints_need_a_token(client: Any, posted: dict[str, str]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert_problem(client.get("/admin/api/maps/kaava/comments", headers=headers), 401)
        assert_problem(client.patch(f"/admin/api/comments/{posted['point']}",
                                    json={"status": "published"}, headers=headers), 401)
    assert client.get("/maps/kaava/comments").get_json()["features"] == []


def test_publish_and_hide_change_what_the_public_sees(client: Any, token: str,
                                                      posted: dict[str, str]) -> None:
    def public_ids() -> list[str]:
        return [f["id"] for f in client.get("/maps/kaava/comments").get_json()["features"]]

    assert public_ids() == []
    published = publish(client, token, posted["point"])
    assert published.status_code == 200
    assert published.get_json()["status"] == "published"
    publish(client, token, posted["feature"])
    assert public_ids() == [posted["point"], posted["feature"]]
    publish(client, token, posted["point"], "hidden")
    assert public_ids() == [posted["feature"]]
    publish(client, token, posted["feature"], "pending")
    assert public_ids() == []
    hidden = staff_export(client, token, status="hidden").get_json()["features"]
    assert [f["id"] for f in hidden] == [posted["point"]]


def test_the_public_list_never_holds_personal_data(client: Any, token: str,
                                                   posted: dict[str, str]) -> None:
    for comment_id in posted.values():
        publish(client, token, comment_id)
    response = client.get("/maps/kaava/comments")
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert len(body["features"]) == 5
    for feature in body["features"]:
        assert set(feature["properties"]) == {"id", "text", "created", "feature", "language",
                                              "response", "photos"}
    text = response.get_data(as_text=True)
    for secret in (*NAMES[:2], *EMAILS, "Meik", "@example.fi"):
        assert secret not in text
    by_id = {f["id"]: f for f in body["features"]}
    assert by_id[posted["feature"]]["geometry"]["type"] == "Polygon", "the plan feature's"
    ref = by_id[posted["feature"]]["properties"]["feature"]
    assert (ref["collection"], ref["id"], ref["label"]) == ("kaava-alueet", 4,
                                                            "Sörnäisten rantatie 3")
    assert by_id[posted["point"]]["geometry"] == INSIDE


def test_moderation_rules(client: Any, token: str, posted: dict[str, str]) -> None:
    bad = assert_problem(publish(client, token, posted["point"], "deleted"), 422)
    assert bad["field"] == "status"
    extra = client.patch(f"/admin/api/comments/{posted['point']}",
                         json={"status": "published", "text": "edited"}, headers=auth(token))
    assert assert_problem(extra, 422)["field"] == "text"
    assert_problem(publish(client, token, "abcdefghij"), 404)
    assert_problem(publish(client, token, "../../etc"), 404)
    assert_problem(client.get("/admin/api/maps/kaava/comments?format=xlsx",
                              headers=auth(token)), 400)
    assert_problem(client.get("/admin/api/maps/kaava/comments?status=spam",
                              headers=auth(token)), 400)
    assert_problem(client.get("/admin/api/maps/ei-ole/comments", headers=auth(token)), 404)


def test_geojson_export_has_everything(client: Any, token: str, posted: dict[str, str]) -> None:
    features = staff_export(client, token).get_json()["features"]
    assert [f["id"] for f in features] == list(posted.values())
    point = features[0]["properties"]
    assert point["name"] == NAMES[0] and point["email"] == EMAILS[0]
    assert point["status"] == "pending" and point["map_id"] == "kaava"
    assert features[1]["geometry"] == LINE and features[1]["properties"]["language"] == "sv"


def test_csv_export_opens_in_excel(client: Any, token: str, posted: dict[str, str]) -> None:
    response = staff_export(client, token, "csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    by_id = {row["id"]: row for row in rows}
    assert list(by_id) == list(posted.values())
    point = by_id[posted["point"]]
    assert point["text"] == "Puisto tähän, kiitos – ä ö å" and point["name"] == "Åsa Öberg"
    assert point["geometry"] == "POINT (24.94 60.17)"
    assert by_id[posted["line"]]["text"] == "Pyörätie\nkulkisi näin"
    assert by_id[posted["area"]]["text"] == "'=1+1"
    assert by_id[posted["area"]]["name"] == "'" + NAMES[2]
    assert by_id[posted["feature"]]["text"] == "'-5 astetta ja @kaikki"
    assert by_id[posted["feature"]]["geometry"].startswith("POLYGON ((24.9")
    assert by_id[posted["feature"]]["feature_id"] == "4"
    assert by_id[posted["feature"]]["feature_label"] == "Sörnäisten rantatie 3"
    assert by_id[posted["both"]]["text"] == "'+358 40 123"


@pytest.mark.parametrize(("cell", "escaped"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("ok = fine", "ok = fine"), ("", "")])
def test_formula_cells_are_escaped(cell: str, escaped: str) -> None:
    assert escape_cell(cell) == escaped


def test_geopackage_export_reads_back(client: Any, token: str, posted: dict[str, str],
                                      tmp_path: Path) -> None:
    response = staff_export(client, token, "gpkg")
    assert response.mimetype == "application/geopackage+sqlite3"
    target = tmp_path / "comments.gpkg"
    target.write_bytes(response.data)
    info = pyogrio.read_info(target)
    assert info["layer_name"] == "comments" and info["features"] == 5
    frame = pyogrio.read_dataframe(target)
    assert frame.crs.to_epsg() == 4326
    assert list(frame["id"]) == list(posted.values())
    rows = frame.set_index("id")
    assert rows.loc[posted["point"], "name"] == "Åsa Öberg"
    assert rows.loc[posted["point"], "text"] == "Puisto tähän, kiitos – ä ö å"
    assert rows.loc[posted["area"], "text"] == "=1+1", "only CSV cells are escaped"
    geometry = rows.loc[posted["line"], "geometry"]
    assert geometry.geom_type == "LineString"
    assert [list(xy) for xy in geometry.coords] == LINE["coordinates"]
    assert rows.loc[posted["area"], "geometry"].geom_type == "Polygon"
    feature = rows.loc[posted["feature"], "geometry"]
    assert feature.geom_type == "Polygon" and feature.area > 0, "at the plan feature"
    assert rows.loc[posted["feature"], "feature_label"] == "Sörnäisten rantatie 3"
    assert info["geometry_type"] == "Unknown"
    assert rows.loc[posted["feature"], "feature_collection"] == "kaava-alueet"
    created = rows.loc[posted["point"], "created"]
    assert abs(created.to_pydatetime() - datetime.now(UTC)) < timedelta(minutes=5)
    scratch = tmp_path / "data" / "tmp"
    assert scratch.is_dir() and not list(scratch.glob("comments-*")), "scratch removed"


def test_csv_delimiter_follows_the_language_or_the_choice(client: Any, token: str,
                                                          posted: dict[str, str]) -> None:
    def header(**params: str) -> str:
        data = staff_export(client, token, "csv", **params).data.decode("utf-8-sig")
        return data.splitlines()[0]

    assert header().startswith("id;created;status"), "map kaava speaks Finnish first"
    assert header(lang="en").startswith("id,created,status")
    assert header(lang="sv", delimiter="comma").startswith("id,created")
    assert header(lang="en", delimiter="semicolon").startswith("id;created")
    assert_problem(client.get("/admin/api/maps/kaava/comments?format=csv&delimiter=tab",
                              headers=auth(token)), 400)


def test_geojson_export_is_a_download_with_every_place(client: Any, token: str,
                                                       posted: dict[str, str]) -> None:
    response = staff_export(client, token)
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="kaava-comments.geojson"')
    by_id = {f["id"]: f for f in response.get_json()["features"]}
    assert all(f["geometry"] is not None for f in by_id.values())
    feature = by_id[posted["feature"]]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["feature"]["label"] == "Sörnäisten rantatie 3"


def test_an_empty_export(client: Any, token: str, tmp_path: Path) -> None:
    target = tmp_path / "empty.gpkg"
    target.write_bytes(staff_export(client, token, "gpkg").data)
    assert pyogrio.read_info(target)["features"] == 0
    assert staff_export(client, token, "csv").data.decode("utf-8-sig").startswith("id;")
    assert staff_export(client, token).get_json()["features"] == []


def test_purge_blanks_names_and_emails(app: Any, client: Any, token: str,
                                       posted: dict[str, str]) -> None:
    service = services_of(app).comments
    report = service.purge_personal_data("kaava", force=True)
    assert (report.comments, report.names, report.emails) == (3, 3, 3)
    features = staff_export(client, token).get_json()["features"]
    assert all(f["properties"]["name"] is None for f in features)
    assert all(f["properties"]["email"] is None for f in features)
    assert [f["properties"]["text"] for f in features][2] == "=1+1"
    again = service.purge_personal_data("kaava", force=True)
    assert (again.comments, again.names, again.emails) == (0, 0, 0)
    if services_of(app).backend == "geopackage":
        data_dir = services_of(app).settings.data_dir
        on_disk = b"".join(p.read_bytes() for p in data_dir.glob("webmap.sqlite*"))
        assert b"asa@example.fi" not in on_disk and "Öberg".encode() not in on_disk


def test_purge_waits_for_the_consultation_to_close(app: Any, posted: dict[str, str]) -> None:
    from webmap.problems import Conflict

    service = services_of(app).comments
    with pytest.raises(Conflict, match="not over"):
        service.purge_personal_data("kaava")
    later = datetime(2100, 1, 1, tzinfo=UTC)
    assert service.purge_personal_data("kaava", now=later).comments == 3


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["postgis"], indirect=True)
def test_the_postgis_table_has_a_geometry_column(app: Any, posted: dict[str, str]) -> None:
    storage = services_of(app).comments.storage
    with services_of(app).database.pool.connection() as conn:  # type: ignore[attr-defined]
        rows = conn.execute("SELECT id, ST_GeometryType(geom), ST_SRID(geom) "
                            "FROM webmap_comments ORDER BY created").fetchall()
    kinds = {row[0]: (row[1], row[2]) for row in rows}
    assert kinds[posted["point"]] == ("ST_Point", 4326)
    assert kinds[posted["area"]] == ("ST_Polygon", 4326)
    assert kinds[posted["feature"]] == ("ST_Polygon", 4326), "at the plan feature, for QGIS"
    assert json.loads(storage.get(posted["line"]).geometry) == LINE

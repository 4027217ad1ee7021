"""POST /maps/{id}/comments: every rule names its field, the open period, idempotency, bots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.comments.conftest import (
    AREA,
    INSIDE,
    LINE,
    MAPS,
    OUTSIDE,
    Poster,
    auth,
    comment,
    map_file,
    new_key,
    write_maps,
)
from tests.conftest import assert_problem
from webmap.services import services_of

BOWTIE = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.95, 60.175], [24.95, 60.17],
                                              [24.94, 60.175], [24.94, 60.17]]]}
OPEN_RING = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.95, 60.17],
                                                 [24.95, 60.175], [24.94, 60.175]]]}
LONG_LINE = {"type": "LineString",
             "coordinates": [[24.9 + i * 1e-5, 60.17] for i in range(1001)]}


def stored(app: Any, map_id: str = "kaava") -> list[Any]:
    """Every stored comment of a map, straight from the storage."""
    return list(services_of(app).comments.storage.list(map_id))


def test_a_comment_is_stored_pending(app: Any, post: Poster) -> None:
    response = post(comment(text="  Lisää penkkejä.\n\nKiitos!  "))
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "pending" and re.fullmatch(r"[a-z][a-z2-7]{9}", body["id"])
    [row] = stored(app)
    assert row.id == body["id"] and row.text == "Lisää penkkejä.\n\nKiitos!"
    assert row.name == "Åsa Öberg" and row.email == "asa.oberg@example.fi"
    assert json.loads(row.geometry) == INSIDE and row.language == "fi"


@pytest.mark.parametrize("geometry", [INSIDE, LINE, AREA], ids=["point", "line", "area"])
def test_each_allowed_geometry_kind(app: Any, post: Poster, geometry: dict[str, Any]) -> None:
    assert post(comment(geometry=geometry)).status_code == 201
    assert json.loads(stored(app)[0].geometry) == geometry


def test_a_plan_feature_alone(app: Any, post: Poster, plan: str) -> None:
    response = post(comment(geometry=None, feature={"collection": plan, "id": "7"}),
                    map_id="vain-kohde")
    assert response.status_code == 201, response.get_json()
    [row] = stored(app, "vain-kohde")
    assert row.geometry is None
    ref = row.feature_ref()
    assert ref is not None and (ref["collection"], ref["id"]) == (plan, 7)
    assert ref["label"] == "Åkerlundinkatu 6" and ref["attributes"] == {"name": ref["label"]}
    assert row.feature_version == services_of(app).layers.layer(plan).version
    assert row.feature_geometry is not None and row.place == row.feature_geometry


def test_text_of_exactly_5000_characters_after_trimming(app: Any, post: Poster) -> None:
    assert post(comment(text="  " + "ä" * 5000 + "\n")).status_code == 201
    assert len(stored(app)[0].text) == 5000


def test_optional_personal_data_may_be_left_out(app: Any, post: Poster) -> None:
    assert post(comment(name=None, email="  ")).status_code == 201
    [row] = stored(app)
    assert row.name is None and row.email is None


RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("no text", comment(text=None), "kaava", "text"),
    ("blank text", comment(text=" \n\t "), "kaava", "text"),
    ("text too long", comment(text="a" * 5001), "kaava", "text"),
    ("text not a string", comment(text=42), "kaava", "text"),
    ("text with a NUL", comment(text="a\x00b"), "kaava", "text"),
    ("line on a point-only map", comment(geometry=LINE), "vain-piste", "geometry"),
    ("area on a point-only map", comment(geometry=AREA), "vain-piste", "geometry"),
    ("geometry on a feature-only map", comment(geometry=INSIDE), "vain-kohde", "geometry"),
    ("multipoint", comment(geometry={"type": "MultiPoint", "coordinates": [[24.94, 60.17]]}),
     "kaava", "geometry"),
    ("outside the extent", comment(geometry=OUTSIDE), "kaava", "geometry"),
    ("self-intersecting area", comment(geometry=BOWTIE), "kaava", "geometry"),
    ("ring not closed", comment(geometry=OPEN_RING), "kaava", "geometry"),
    ("too many vertices", comment(geometry=LONG_LINE), "kaava", "geometry"),
    ("coordinates not numbers", comment(geometry={"type": "Point", "coordinates": ["24", "60"]}),
     "kaava", "geometry"),
    ("coordinates booleans", comment(geometry={"type": "Point", "coordinates": [True, False]}),
     "kaava", "geometry"),
    ("one-point line", comment(geometry={"type": "LineString", "coordinates": [[24.94, 60.17]]}),
     "kaava", "geometry"),
    ("geometry as WKT", comment(geometry="POINT (24.94 60.17)"), "kaava", "geometry"),
    ("geometry with a crs", comment(geometry={**INSIDE, "crs": {"type": "name"}}), "kaava",
     "geometry"),
    ("neither geometry nor feature", comment(geometry=None), "kaava", "geometry"),
    ("neither on a feature-only map", comment(geometry=None), "vain-kohde", "feature"),
    ("feature on a point-only map", comment(feature={"collection": "kaava-alueet", "id": 1}),
     "vain-piste", "feature"),
    ("feature not an object", comment(feature="kaava-alueet/1"), "kaava", "feature"),
    ("feature with an extra member", comment(feature={"collection": "kaava-alueet", "id": 1,
                                                      "layer": "x"}), "kaava", "feature.layer"),
    ("feature from a layer that is not a plan", comment(feature={"collection": "roads",
                                                                 "id": 1}),
     "kaava", "feature.collection"),
    ("feature that does not exist", comment(feature={"collection": "kaava-alueet", "id": 999}),
     "kaava", "feature.id"),
    ("feature id not an id", comment(feature={"collection": "kaava-alueet", "id": "1 OR 1=1"}),
     "kaava", "feature.id"),
    ("feature id a boolean", comment(feature={"collection": "kaava-alueet", "id": True}),
     "kaava", "feature.id"),
    ("name too long", comment(name="N" * 201), "kaava", "name"),
    ("name on two lines", comment(name="Åsa\nÖberg"), "kaava", "name"),
    ("name not a string", comment(name=["Åsa"]), "kaava", "name"),
    ("email without @", comment(email="asa.example.fi"), "kaava", "email"),
    ("email without a domain", comment(email="asa@localhost"), "kaava", "email"),
    ("email too long", comment(email="a" * 250 + "@x.fi"), "kaava", "email"),
    ("no language", comment(language=None), "kaava", "language"),
    ("a language the map does not speak", comment(language="sv"), "vain-piste", "language"),
    ("an unknown language", comment(language="de"), "kaava", "language"),
    ("an unknown member", comment(comment="typo for text"), "kaava", "comment"),
    ("a key that is not a string", comment(idempotency_key=123), "kaava", "idempotency_key"),
    ("a key with a space", comment(idempotency_key="a b"), "kaava", "idempotency_key"),
    ("a key too long", comment(idempotency_key="k" * 256), "kaava", "idempotency_key"),
]


@pytest.mark.parametrize(("body", "map_id", "field"), [(b, m, f) for _, b, m, f in RULES],
                         ids=[name for name, *_ in RULES])
def test_every_rule_names_its_field(app: Any, post: Poster, plan: str, body: dict[str, Any],
                                    map_id: str, field: str) -> None:
    problem = assert_problem(post(body, map_id=map_id), 422)
    assert problem["field"] == field, problem
    assert stored(app, map_id) == []


def test_a_plan_layer_not_imported_yet(app: Any, post: Poster) -> None:
    body = comment(feature={"collection": "kaava-alueet", "id": 1})
    assert assert_problem(post(body), 422)["field"] == "feature.id"


@pytest.mark.parametrize(("data", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"text"', "application/json", 400),
    (b'{"text": NaN}', "application/json", 400),
    (b"text=hello", "application/x-www-form-urlencoded", 415),
    (b'{"text": "' + b"a" * 70_000 + b'"}', "application/json", 413),
], ids=["broken", "array", "string", "nan", "form", "over 64 KiB"])
def test_the_body_must_be_a_small_json_object(app: Any, client: Any, data: bytes,
                                              content_type: str, status: int) -> None:
    response = client.post("/maps/kaava/comments", data=data, content_type=content_type)
    assert_problem(response, status)
    assert stored(app) == []


def test_an_unknown_map_is_404(client: Any, post: Poster) -> None:
    assert_problem(post(comment(), map_id="ei-ole"), 404, mentions="ei-ole")
    assert_problem(client.get("/maps/ei-ole/comments"), 404)


@pytest.mark.parametrize(("map_id", "mentions"), [
    ("suljettu", "closed at 2020-12-31T22:00"), ("tuleva", "opens at 2097-12-31T22:00"),
    ("ei-kuulemista", "does not take comments")])
def test_outside_the_open_period_is_409(app: Any, post: Poster, map_id: str,
                                        mentions: str) -> None:
    problem = assert_problem(post(comment(), map_id=map_id), 409, mentions=mentions)
    if map_id != "ei-kuulemista":
        assert set(problem) >= {"opens", "closes"}
    assert stored(app, map_id) == []


def test_409_comes_before_the_checks_of_the_content(post: Poster) -> None:
    assert_problem(post({"text": ""}, map_id="suljettu"), 409)


def test_the_same_key_stores_one_comment(app: Any, post: Poster) -> None:
    key = new_key()
    first = post(comment(), key=key)
    again = post(comment(), key=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [c.id for c in stored(app)] == [first.get_json()["id"]]


def test_the_key_may_come_in_the_body_or_as_a_quoted_header(app: Any, post: Poster) -> None:
    first = post(comment(idempotency_key="widget-7f3a"))
    again = post(comment(), headers={"Idempotency-Key": '"widget-7f3a"'})
    both = post(comment(idempotency_key="widget-7f3a"), key="widget-7f3a")
    assert (first.status_code, again.status_code, both.status_code) == (201, 200, 200)
    assert len({r.get_json()["id"] for r in (first, again, both)}) == 1
    assert len(stored(app)) == 1


def test_a_key_in_header_and_body_must_agree(app: Any, post: Poster) -> None:
    problem = assert_problem(post(comment(idempotency_key="a"), key="b"), 422)
    assert problem["field"] == "idempotency_key"
    assert stored(app) == []


def test_a_key_reused_for_another_comment_is_refused(app: Any, post: Poster) -> None:
    key = new_key()
    assert post(comment(), key=key).status_code == 201
    problem = assert_problem(post(comment(text="Jotain muuta"), key=key), 422)
    assert problem["field"] == "idempotency_key"
    assert len(stored(app)) == 1


def test_keys_are_scoped_per_map(app: Any, post: Poster) -> None:
    key = new_key()
    one = post(comment(), key=key).get_json()["id"]
    other = post(comment(), key=key, map_id="vain-piste").get_json()["id"]
    assert one != other
    assert len(stored(app)) == 1 and len(stored(app, "vain-piste")) == 1


def test_without_a_key_each_post_is_a_comment(app: Any, post: Poster) -> None:
    assert post(comment()).status_code == 201 and post(comment()).status_code == 201
    assert len(stored(app)) == 2


def test_a_retry_after_closing_still_gets_its_receipt(app: Any, post: Poster,
                                                      layers_dir: Path) -> None:
    key = new_key()
    first = post(comment(), key=key).get_json()
    write_maps(layers_dir, {"kaava": map_file("kaava", closes="2021-01-01T00:00:00+02:00")})
    services_of(app).maps.CHECK_SECONDS = 0
    assert services_of(app).maps.get("kaava").consultation.closes.year == 2021
    again = post(comment(), key=key)
    assert again.status_code == 200 and again.get_json() == first
    assert_problem(post(comment(), key=new_key()), 409)


def test_a_filled_honeypot_stores_nothing(app: Any, client: Any, post: Poster,
                                          token: str) -> None:
    response = post(comment(website="https://cheap-pills.example"), key=new_key())
    assert response.status_code == 201
    fake = response.get_json()
    assert fake["status"] == "pending"
    assert re.fullmatch(r"[2-7][a-z2-7]{9}", fake["id"]), "a decoy id never starts with a letter"
    assert stored(app) == []
    assert_problem(client.patch(f"/admin/api/comments/{fake['id']}",
                                json={"status": "published"}, headers=auth(token)), 404)


def test_an_empty_honeypot_is_fine(app: Any, post: Poster) -> None:
    assert post(comment(website="")).status_code == 201
    assert len(stored(app)) == 1


XSS = '<script>alert("x")</script><img src=x onerror="alert(1)"> & "quotes"'


def test_markup_is_stored_verbatim_and_served_as_json(app: Any, client: Any, post: Poster,
                                                      token: str) -> None:
    created = post(comment(text=XSS, name=XSS))
    assert created.status_code == 201 and created.mimetype == "application/json"
    comment_id = created.get_json()["id"]
    [row] = stored(app)
    assert row.text == XSS and row.name == XSS
    client.patch(f"/admin/api/comments/{comment_id}", json={"status": "published"},
                 headers=auth(token))
    public = client.get("/maps/kaava/comments", headers={"Accept": "text/html"})
    assert public.mimetype == "application/geo+json"
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert public.get_json()["features"][0]["properties"]["text"] == XSS
    for fmt, mimetype in (("geojson", "application/geo+json"), ("csv", "text/csv")):
        staff = client.get(f"/admin/api/maps/kaava/comments?format={fmt}", headers=auth(token))
        assert staff.mimetype == mimetype
    bad = assert_problem(post(comment(text=None, name=XSS)), 422)
    assert XSS not in bad["detail"]


def test_preflight_allows_the_maps_own_origins(client: Any) -> None:
    allowed = client.options("/maps/kaava/comments",
                             headers={"Origin": MAPS["kaava"]["origins"][0],
                                      "Access-Control-Request-Method": "POST",
                                      "Access-Control-Request-Headers": "content-type"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == MAPS["kaava"]["origins"][0]
    assert "Idempotency-Key" in allowed.headers["Access-Control-Allow-Headers"]
    other = client.options("/maps/kaava/comments", headers={"Origin": "https://evil.example"})
    assert other.status_code == 204 and "Access-Control-Allow-Origin" not in other.headers

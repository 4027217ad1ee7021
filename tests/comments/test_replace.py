"""A plan layer replaced during a consultation: every comment keeps its place and its label
(SPEC §7), the layer keeps what staff wrote about it, and maps that use it are not broken
silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely

from tests.comments.conftest import PLAN_LAYER, Poster, auth, comment, new_key
from tests.conftest import assert_problem
from webmap.services import services_of


def square(x: float, y: float, size: float = 0.002) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
                                                [x, y + size], [x, y]]]}


V1 = [("AK-1", "Puistokatu 1", 24.90), ("AK-2", "Rantatie 2", 24.91),
      ("AK-3", "Koulupolku 3", 24.92), ("AK-4", "Torikatu 4", 24.93),
      ("AK-5", "Satamatie 5", 24.94)]


def plan_file(path: Path, rows: list[tuple[str, str, float]], *, label: str = "name",
              shift: dict[str, float] | None = None) -> Path:
    """A GeoJSON plan: ``tunnus`` identifies each area, ``label`` names it."""
    features = [{"type": "Feature",
                 "properties": {"tunnus": key, label: name, "kerrosala": 100 + i},
                 "geometry": square(x + (shift or {}).get(key, 0.0), 60.17)}
                for i, (key, name, x) in enumerate(rows)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def upload(client: Any, token: str, path: Path, **form: str) -> Any:
    with path.open("rb") as handle:
        return client.put(f"/admin/api/layers/{PLAN_LAYER}", headers=auth(token),
                          data={"file": (handle, path.name), **form},
                          content_type="multipart/form-data")


def exported(client: Any, token: str) -> dict[str, dict[str, Any]]:
    response = client.get("/admin/api/maps/kaava/comments", headers=auth(token))
    assert response.status_code == 200
    return {f["id"]: f for f in response.get_json()["features"]}


def feature_by_key(client: Any) -> dict[str, int]:
    items = client.get(f"/collections/{PLAN_LAYER}/items?limit=100").get_json()["features"]
    return {f["properties"]["tunnus"]: f["id"] for f in items}


def test_replacing_a_plan_during_a_consultation_keeps_every_comment(
        client: Any, app: Any, token: str, post: Poster, tmp_path: Path) -> None:
    first = upload(client, token, plan_file(tmp_path / "ehdotus.geojson", V1),
                   title="Asemakaava-alueet", attribution="© Kaavoitus",
                   description="Ehdotusvaiheen alueet")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["report"]["id_field"] == "tunnus"
    before = feature_by_key(client)
    assert before == {"AK-1": 1, "AK-2": 2, "AK-3": 3, "AK-4": 4, "AK-5": 5}
    ids = {}
    for key, fid in before.items():
        response = post(comment(text=f"Alueesta {key}", geometry=None,
                                feature={"collection": PLAN_LAYER, "id": fid}), key=new_key())
        assert response.status_code == 201, response.get_json()
        ids[key] = response.get_json()["id"]
    seen = exported(client, token)

    # The new version: a new area first, AK-3 gone, AK-2 moved, the rest reordered.
    v2 = [("AK-9", "Uusi aukio 9", 24.95), V1[4], V1[3], V1[1], V1[0]]
    second = upload(client, token, plan_file(tmp_path / "tarkistettu.geojson", v2,
                                             shift={"AK-2": 0.01}))
    assert second.status_code == 200, second.get_json()
    warnings = " ".join(second.get_json()["report"]["warnings"])
    assert "map 'kaava'" in warnings and "consultation open" in warnings
    assert "4 features kept their ids, 1 are new, 1 are no longer in the layer" in warnings

    info = services_of(app).layers.layer(PLAN_LAYER)
    assert (info.title, info.attribution, info.description) == (
        "Asemakaava-alueet", "© Kaavoitus", "Ehdotusvaiheen alueet")
    after = feature_by_key(client)
    assert {k: after[k] for k in ("AK-1", "AK-2", "AK-4", "AK-5")} == {
        k: before[k] for k in ("AK-1", "AK-2", "AK-4", "AK-5")}
    assert after["AK-9"] == 6, "a new feature never takes a removed feature's id"

    now = exported(client, token)
    for key, comment_id in ids.items():
        was, still = seen[comment_id], now[comment_id]
        assert still["properties"]["feature"]["label"] == {k: n for k, n, _ in V1}[key]
        assert still["properties"]["feature"]["key"] == key
        assert still["geometry"] == was["geometry"], "the place the resident saw"
        assert still["properties"]["feature"]["id"] == before[key]
        if key in after:
            assert after[key] == still["properties"]["feature"]["id"]
    moved = shapely.geometry.shape(now[ids["AK-2"]]["geometry"])
    assert moved.bounds[0] == pytest.approx(24.91), "the old geometry, not the moved one"

    # A GeoPackage for QGIS: every comment at its place, with its label.
    response = client.get("/admin/api/maps/kaava/comments?format=gpkg", headers=auth(token))
    target = tmp_path / "kommentit.gpkg"
    target.write_bytes(response.data)
    frame = pyogrio.read_dataframe(target).set_index("id")
    assert pyogrio.read_info(target)["geometry_type"] == "Polygon"
    assert frame.geometry.notna().all() and not frame.geometry.is_empty.any()
    assert frame.loc[ids["AK-3"], "feature_label"] == "Koulupolku 3"


def test_a_replacement_that_breaks_a_map_is_refused_unless_forced(
        client: Any, app: Any, token: str, tmp_path: Path) -> None:
    assert upload(client, token, plan_file(tmp_path / "a.geojson", V1)).status_code == 201
    version = services_of(app).layers.layer(PLAN_LAYER).version
    renamed = plan_file(tmp_path / "b.geojson", V1, label="nimi")
    body = assert_problem(upload(client, token, renamed), 409, mentions="map 'kaava'")
    assert "'name'" in body["detail"] and "layers[0].label" in body["detail"]
    assert services_of(app).layers.layer(PLAN_LAYER).version == version, "nothing swapped"
    forced = upload(client, token, renamed, force="yes")
    assert forced.status_code == 200
    assert any("'name'" in w for w in forced.get_json()["report"]["warnings"])


def test_removing_a_layer_a_map_uses_names_the_map(client: Any, app: Any, token: str,
                                                   tmp_path: Path) -> None:
    assert upload(client, token, plan_file(tmp_path / "a.geojson", V1)).status_code == 201
    response = client.delete(f"/admin/api/layers/{PLAN_LAYER}", headers=auth(token))
    body = assert_problem(response, 409, mentions="map 'kaava'")
    assert "force" in body["detail"]
    assert services_of(app).layers.layer(PLAN_LAYER)
    gone = client.delete(f"/admin/api/layers/{PLAN_LAYER}?force=yes", headers=auth(token))
    assert gone.status_code == 204

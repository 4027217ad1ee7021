"""Drawn lines and areas: the map's drawing limits are enforced by the comments API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.comments.conftest import MAPS, Poster, comment, map_file, write_maps
from tests.conftest import assert_problem
from webmap.comments.shapes import ring_crossings
from webmap.maps import MapDefinitionError, parse_map
from webmap.services import services_of

LIMITED = map_file("rajattu", geometry=("line", "area"))
LIMITED["consultation"]["drawing"] = {"max_points": 5, "min_zoom": 14}
SEVERAL = map_file("monta", geometry=("line", "area"))
SEVERAL["consultation"]["drawing"] = {"several": True}


@pytest.fixture
def layers_dir(tmp_path: Path) -> Path:
    """The shared test maps plus one with a 5-point limit and one taking several shapes."""
    return write_maps(tmp_path / "layers", {**MAPS, "rajattu": LIMITED, "monta": SEVERAL})


def line(n: int, *, lon: float = 24.94) -> dict[str, Any]:
    """A line of ``n`` points inside the test extent."""
    return {"type": "LineString", "coordinates": [[lon + i * 1e-4, 60.17 + (i % 2) * 1e-4]
                                                  for i in range(n)]}


def square(lon: float, lat: float, size: float = 0.005) -> list[list[float]]:
    """A closed square ring, counter-clockwise: 4 points and the closing one."""
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size],
            [lon, lat]]


BOWTIE = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.95, 60.175], [24.95, 60.17],
                                              [24.94, 60.175], [24.94, 60.17]]]}


def stored(app: Any, map_id: str) -> list[Any]:
    """A map's stored comments."""
    return list(services_of(app).comments.storage.list(map_id))


def test_a_line_at_the_point_limit_is_taken_one_more_is_not(app: Any, post: Poster) -> None:
    assert post(comment(geometry=line(5)), map_id="rajattu").status_code == 201
    problem = assert_problem(post(comment(geometry=line(6)), map_id="rajattu"), 422)
    assert problem["field"] == "geometry" and problem["reason"] == "points"
    assert (problem["points"], problem["max_points"]) == (6, 5)
    assert "6 points" in problem["detail"] and "at most 5" in problem["detail"]
    assert len(stored(app, "rajattu")) == 1


def test_an_areas_closing_point_is_not_counted(app: Any, post: Poster) -> None:
    five = [[24.94, 60.17], [24.95, 60.17], [24.955, 60.173], [24.95, 60.176],
            [24.94, 60.176], [24.94, 60.17]]
    assert post(comment(geometry={"type": "Polygon", "coordinates": [five]}),
                map_id="rajattu").status_code == 201
    six = [*five[:-1], [24.935, 60.173], five[0]]
    problem = assert_problem(post(comment(geometry={"type": "Polygon", "coordinates": [six]}),
                                  map_id="rajattu"), 422)
    assert problem["reason"] == "points" and problem["points"] == 6


def test_the_default_limit_is_200_points(app: Any, post: Poster) -> None:
    assert post(comment(geometry=line(200))).status_code == 201
    problem = assert_problem(post(comment(geometry=line(201))), 422)
    assert problem["max_points"] == 200


def test_a_self_intersecting_area_names_the_crossing_segments(app: Any, post: Poster) -> None:
    problem = assert_problem(post(comment(geometry=BOWTIE)), 422)
    assert problem["field"] == "geometry" and problem["reason"] == "crossing"
    assert problem["segments"] == [1, 3]
    assert "segment 1 crosses segment 3" in problem["detail"]
    assert stored(app, "kaava") == []


def test_a_self_crossing_line_is_a_fine_route(app: Any, post: Poster) -> None:
    loop = {"type": "LineString", "coordinates": [[24.94, 60.17], [24.95, 60.175],
                                                  [24.95, 60.17], [24.94, 60.175]]}
    assert post(comment(geometry=loop)).status_code == 201


def test_ring_crossings_finds_every_pair_and_edges_doubling_back() -> None:
    assert ring_crossings(BOWTIE["coordinates"][0]) == [(1, 3)]
    assert ring_crossings(square(24.94, 60.17)) == []
    back = [[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    assert (1, 2) in ring_crossings(back)
    star = [[0.0, 0.0], [4.0, 3.0], [4.0, 0.0], [0.0, 3.0], [2.0, -1.0], [0.0, 0.0]]
    pairs = ring_crossings(star)
    assert (1, 3) in pairs and len(pairs) >= 2


def test_a_point_outside_the_extent_is_named(app: Any, post: Poster) -> None:
    wandering = line(3)
    wandering["coordinates"][1] = [25.5, 60.17]
    problem = assert_problem(post(comment(geometry=wandering)), 422)
    assert problem["reason"] == "outside" and problem["point"] == 2
    assert "point 2 lies outside" in problem["detail"]


def test_one_shape_unless_the_map_takes_several(app: Any, post: Poster) -> None:
    multi = {"type": "MultiLineString", "coordinates": [line(2)["coordinates"],
                                                        line(3, lon=24.96)["coordinates"]]}
    problem = assert_problem(post(comment(geometry=multi)), 422)
    assert problem["reason"] == "several" and "one shape per comment" in problem["detail"]
    assert post(comment(geometry=multi), map_id="monta").status_code == 201
    areas = {"type": "MultiPolygon", "coordinates": [[square(24.94, 60.17)],
                                                     [square(24.96, 60.17)]]}
    assert post(comment(geometry=areas), map_id="monta").status_code == 201
    kinds = {json.loads(c.geometry)["type"] for c in stored(app, "monta")}
    assert kinds == {"MultiLineString", "MultiPolygon"}


def test_several_areas_must_not_overlap_nor_cross(app: Any, post: Poster) -> None:
    overlapping = {"type": "MultiPolygon", "coordinates": [[square(24.94, 60.17)],
                                                           [square(24.942, 60.172)]]}
    problem = assert_problem(post(comment(geometry=overlapping), map_id="monta"), 422)
    assert problem["reason"] == "overlap"
    crossed = {"type": "MultiPolygon", "coordinates": [[square(24.90, 60.17)],
                                                       BOWTIE["coordinates"]]}
    problem = assert_problem(post(comment(geometry=crossed), map_id="monta"), 422)
    assert problem["reason"] == "crossing" and problem["part"] == 2
    assert problem["detail"].startswith("area 2's edge crosses itself")


def test_the_several_limit_counts_every_part(app: Any, post: Poster) -> None:
    many = {"type": "MultiLineString", "coordinates": [line(150)["coordinates"],
                                                       line(51, lon=24.96)["coordinates"]]}
    problem = assert_problem(post(comment(geometry=many), map_id="monta"), 422)
    assert problem["points"] == 201


def test_the_limits_are_in_the_map_document_and_the_widget(client: Any) -> None:
    document = client.get("/maps/rajattu", headers={"Accept": "application/json"}).get_json()
    assert document["consultation"]["drawing"] == {"maxPoints": 5, "minZoom": 14,
                                                   "several": False}
    page = client.get("/embed/rajattu").text
    config = json.loads(page.split('id="wm-config">')[1].split("</script>")[0])
    assert config["consultation"]["drawing"]["maxPoints"] == 5


@pytest.mark.parametrize(("drawing", "field"), [
    ({"max_points": 2}, "drawing.max_points"),
    ({"max_points": 5000}, "drawing.max_points"),
    ({"max_points": "200"}, "drawing.max_points"),
    ({"min_zoom": 30}, "drawing.min_zoom"),
    ({"several": "yes"}, "drawing.several"),
    ({"points": 5}, "drawing"),
    ("many", "drawing"),
])
def test_bad_drawing_settings_name_the_member(drawing: Any, field: str) -> None:
    document = map_file("x")
    document["consultation"]["drawing"] = drawing
    with pytest.raises(MapDefinitionError) as caught:
        parse_map(document)
    assert f"map.consultation.{field}:" in str(caught.value)


def test_drawing_defaults() -> None:
    consultation = parse_map(map_file("x")).consultation
    assert consultation is not None
    assert (consultation.drawing.max_points, consultation.drawing.min_zoom,
            consultation.drawing.several) == (200, None, False)

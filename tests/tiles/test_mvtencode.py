"""The vectorised MVT encoder, checked by decoding with mapbox-vector-tile."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from webmap.tiles.mvtencode import encode, varints


def decode(data: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def signed_area(ring: list[list[int]]) -> float:
    x, y = np.array(ring, dtype=float).T
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) / 2)


def test_varints_match_protobuf_rules() -> None:
    data, lengths = varints(np.array([0, 1, 127, 128, 300, 2**32 - 1, 2**63], dtype=np.uint64))
    assert lengths.tolist() == [1, 1, 1, 2, 2, 5, 10]
    assert data[:7].tobytes() == b"\x00\x01\x7f\x80\x01\xac\x02"


def test_every_geometry_type_round_trips() -> None:
    geoms = np.array([
        shapely.Point(10, 20),
        shapely.MultiPoint([(1, 1), (4000, 4000)]),
        shapely.LineString([(0, 0), (100, 0), (100, 100)]),
        shapely.MultiLineString([[(0, 0), (10, 10)], [(20, 20), (30, 35)]]),
        shapely.Polygon([(0, 0), (0, 100), (100, 100), (100, 0)], [[(10, 10), (20, 10),
                                                                    (20, 20), (10, 20)]]),
        shapely.MultiPolygon([shapely.box(200, 200, 300, 300), shapely.box(400, 400, 410, 420)]),
    ], dtype=object)
    ids = np.arange(1, 7)
    columns = {"name": ["Hämeenkatu", "Åbo", None, "Sörnäinen", "x", "y"],
               "n": [1, -5, 2**40, 0, None, 7],
               "f": [0.5, None, -1.25, 3.0, 2.0, 1.0],
               "b": [True, False, None, True, True, False]}
    layer = decode(encode("test", ids, geoms, columns))["test"]
    assert layer["extent"] == 4096
    by_id = {f["id"]: f for f in layer["features"]}
    assert sorted(by_id) == [1, 2, 3, 4, 5, 6]
    for i, geom in enumerate(geoms, start=1):
        got = shape(by_id[i]["geometry"])
        assert got.equals(geom), (i, got.wkt, geom.wkt)
    assert by_id[1]["properties"] == {"name": "Hämeenkatu", "n": 1, "f": 0.5, "b": True}
    assert by_id[2]["properties"] == {"name": "Åbo", "n": -5, "b": False}
    assert by_id[3]["properties"] == {"n": 2**40, "f": -1.25}
    assert by_id[5]["properties"] == {"name": "x", "f": 2.0, "b": True}


@pytest.mark.parametrize("clockwise_input", [True, False])
def test_polygon_winding_follows_the_spec(clockwise_input: bool) -> None:
    outer = [(0, 0), (0, 100), (100, 100), (100, 0)]
    inner = [(10, 10), (20, 10), (20, 20), (10, 20)]
    if not clockwise_input:
        outer, inner = outer[::-1], inner[::-1]
    data = encode("w", [1], np.array([shapely.Polygon(outer, [inner])]), {})
    rings = decode(data)["w"]["features"][0]["geometry"]["coordinates"]
    # exterior: positive area in tile coordinates (y down), holes negative
    assert signed_area(rings[0]) > 0
    assert signed_area(rings[1]) < 0


def test_repeated_and_degenerate_parts_are_dropped() -> None:
    geoms = np.array([
        shapely.Polygon([(0, 0), (0.2, 0.1), (0.3, 0.2), (0.1, 0.4)]),  # collapses to a point
        shapely.LineString([(5, 5), (5.2, 5.1)]),  # collapses
        shapely.LineString([(0, 0), (0.1, 0), (10, 0), (10, 0.2), (20, 0)]),  # repeats inside
        shapely.MultiPolygon([shapely.box(0, 0, 0.3, 0.3), shapely.box(50, 50, 60, 60)]),
    ], dtype=object)
    layer = decode(encode("d", [1, 2, 3, 4], geoms, {"k": ["a", "b", "c", "d"]}))["d"]
    by_id = {f["id"]: f for f in layer["features"]}
    assert sorted(by_id) == [3, 4]
    assert by_id[3]["geometry"]["coordinates"] == [[0, 0], [10, 0], [20, 0]]
    assert shape(by_id[4]["geometry"]).equals(shapely.box(50, 50, 60, 60))
    assert by_id[4]["properties"] == {"k": "d"}


def test_nothing_left_is_empty_bytes() -> None:
    assert encode("e", [], np.array([], dtype=object), {}) == b""
    assert encode("e", [1], np.array([shapely.Point()], dtype=object), {"a": [1]}) == b""


def test_geometry_collection_keeps_its_largest_dimension() -> None:
    collection = shapely.GeometryCollection([shapely.Point(1, 1), shapely.box(0, 0, 10, 10)])
    feature = decode(encode("c", [9], np.array([collection]), {}))["c"]["features"][0]
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_random_polygons_match_rounded_shapely() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    x, y = rng.uniform(0, 4000, n), rng.uniform(0, 4000, n)
    geoms = shapely.box(x, y, x + rng.uniform(3, 60, n), y + rng.uniform(3, 60, n))
    names = [f"talo {i}" for i in range(n)]
    data = encode("r", np.arange(1, n + 1), geoms, {"name": names})
    layer = decode(data)["r"]
    assert len(layer["features"]) == n
    rounded = shapely.set_precision(geoms, 1.0)
    for feature in layer["features"]:
        i = feature["id"] - 1
        assert feature["properties"]["name"] == names[i]
        assert abs(shape(feature["geometry"]).area - rounded[i].area) < 1e-9

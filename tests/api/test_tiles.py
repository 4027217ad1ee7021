"""OGC API - Tiles: decoded MVT and PNG content, caching headers, errors."""

from __future__ import annotations

import io
from typing import Any

import mapbox_vector_tile
import morecantile
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from tests.conftest import assert_problem, make_buildings
from webmap.tiles.grids import GRIDS

WMQ = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture
def buildings(add_layer: Any) -> Any:
    """500 buildings near Helsinki."""
    frame = make_buildings(500)
    add_layer("buildings", frame)
    return frame


def expected_ids(frame: Any, tms: morecantile.TileMatrixSet, tile: morecantile.Tile,
                 epsg: str) -> set[int]:
    """Ids of features whose geometry meets the tile (computed with geopandas + shapely)."""
    local = frame.to_crs(epsg)
    b = tms.xy_bounds(tile)
    hit = shapely.intersects(local.geometry.values, shapely.box(b.left, b.bottom, b.right,
                                                                b.top))
    return {int(i) + 1 for i in np.flatnonzero(hit)}


def decode(data: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


@pytest.mark.parametrize(("grid_id", "epsg", "zoom"), [
    ("WebMercatorQuad", "EPSG:3857", 15), ("WebMercatorQuad", "EPSG:3857", 17),
    ("ETRS-TM35FIN", "EPSG:3067", 11)])
def test_vector_tile_holds_the_right_features(client: Any, buildings: Any, grid_id: str,
                                              epsg: str, zoom: int) -> None:
    tms = GRIDS[grid_id]
    centre = buildings.geometry.union_all().centroid
    tile = tms.tile(centre.x, centre.y, zoom)
    response = client.get(f"/collections/buildings/tiles/{grid_id}/{zoom}/{tile.y}/{tile.x}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    layer = decode(response.data)["buildings"]
    got = {f["id"] for f in layer["features"]}
    want = expected_ids(buildings, tms, tile, epsg)
    assert want, "the tile should hold buildings"
    # features touching only the buffer may appear too; every one inside must be there
    assert want <= got
    assert got - want <= expected_ids_buffered(buildings, tms, tile, epsg)
    assert layer["extent"] == 4096
    for feature in layer["features"]:
        row = buildings.iloc[feature["id"] - 1]
        assert feature["properties"]["name"] == row["name"]
        assert feature["properties"]["floors"] == row["floors"]
        assert ("note" in feature["properties"]) == (not pd.isna(row["note"]))


def expected_ids_buffered(frame: Any, tms: morecantile.TileMatrixSet,
                          tile: morecantile.Tile, epsg: str) -> set[int]:
    local = frame.to_crs(epsg)
    b = tms.xy_bounds(tile)
    pad = (b.right - b.left) * 64 / 4096
    hit = shapely.intersects(local.geometry.values,
                             shapely.box(b.left - pad, b.bottom - pad, b.right + pad,
                                         b.top + pad))
    return {int(i) + 1 for i in np.flatnonzero(hit)}


def test_tile_geometry_is_in_tile_units(client: Any, add_layer: Any) -> None:
    frame = make_buildings(1)
    add_layer("one", frame)
    geom = frame.geometry.iloc[0]
    tile = WMQ.tile(geom.centroid.x, geom.centroid.y, 18)
    data = client.get(f"/collections/one/tiles/WebMercatorQuad/18/{tile.y}/{tile.x}").data
    feature = decode(data)["one"]["features"][0]
    ring = np.array(feature["geometry"]["coordinates"][0])
    b = WMQ.xy_bounds(tile)
    local = frame.to_crs("EPSG:3857").geometry.iloc[0]
    xs, ys = np.array(local.exterior.coords).T
    expected_x = (xs - b.left) / (b.right - b.left) * 4096
    expected_y = (b.top - ys) / (b.top - b.bottom) * 4096
    assert abs(ring[:, 0].min() - expected_x.min()) <= 1
    assert abs(ring[:, 1].min() - expected_y.min()) <= 1
    assert abs(ring[:, 0].max() - expected_x.max()) <= 1


def test_etag_and_304(client: Any, buildings: Any) -> None:
    centre = buildings.geometry.union_all().centroid
    tile = WMQ.tile(centre.x, centre.y, 14)
    url = f"/collections/buildings/tiles/WebMercatorQuad/14/{tile.y}/{tile.x}"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "max-age" in first.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    assert client.get(url).data == first.data


def test_replacing_a_layer_changes_tiles(client: Any, buildings: Any, add_layer: Any) -> None:
    centre = buildings.geometry.union_all().centroid
    tile = WMQ.tile(centre.x, centre.y, 14)
    url = f"/collections/buildings/tiles/WebMercatorQuad/14/{tile.y}/{tile.x}"
    before = client.get(url)
    smaller = buildings.iloc[:10].copy()
    smaller["name"] = "uusi"
    add_layer("buildings", smaller)
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code in (200, 204)
    assert after.headers["ETag"] != before.headers["ETag"]
    if after.status_code == 200:
        names = {f["properties"]["name"] for f in decode(after.data)["buildings"]["features"]}
        assert names == {"uusi"}


def test_empty_area_is_204(client: Any, buildings: Any) -> None:
    tile = WMQ.tile(-70.0, -30.0, 10)
    response = client.get(f"/collections/buildings/tiles/WebMercatorQuad/10/{tile.y}/{tile.x}")
    assert response.status_code == 204


@pytest.mark.parametrize("path", [
    "WebMercatorQuad/3/8/0", "WebMercatorQuad/3/0/8", "WebMercatorQuad/25/0/0",
    "NoSuchGrid/3/0/0", "SWEREF99TM/3/0/0"])
def test_impossible_tiles_are_404_problems(client: Any, buildings: Any, path: str) -> None:
    assert_problem(client.get(f"/collections/buildings/tiles/{path}"), 404)


def test_negative_or_text_coordinates_are_404(client: Any, buildings: Any) -> None:
    assert_problem(client.get("/collections/buildings/tiles/WebMercatorQuad/3/-1/0"), 404)
    assert_problem(client.get("/collections/buildings/tiles/WebMercatorQuad/x/0/0"), 404)


def test_tilesets_tileset_and_tilejson(client: Any, buildings: Any) -> None:
    sets = client.get("/collections/buildings/tiles").get_json()["tilesets"]
    ids = {s["links"][0]["href"].rsplit("/", 1)[1] for s in sets}
    assert ids == {"WebMercatorQuad", "ETRS-TM35FIN"}
    tileset = client.get("/collections/buildings/tiles/WebMercatorQuad").get_json()
    assert tileset["dataType"] == "vector"
    assert tileset["layers"][0]["propertiesSchema"]["properties"]["floors"]["type"] == "integer"
    described = [link for link in tileset["links"] if link["rel"] == "describedby"]
    assert described and described[0]["href"].endswith("/tilejson.json")
    template = [link for link in tileset["links"] if link["rel"] == "item"][0]
    assert template["templated"] and "{tileMatrix}/{tileRow}/{tileCol}" in template["href"]
    tilejson = client.get(described[0]["href"].replace("http://localhost", "")).get_json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"][0].endswith("/collections/buildings/tiles/WebMercatorQuad/"
                                         "{z}/{y}/{x}")
    assert tilejson["vector_layers"][0]["id"] == "buildings"
    assert set(tilejson["vector_layers"][0]["fields"]) == {"name", "floors", "area",
                                                           "listed", "note"}
    limits = {lim["tileMatrix"]: lim for lim in tileset["tileMatrixSetLimits"]}
    centre = buildings.geometry.union_all().centroid
    t = WMQ.tile(centre.x, centre.y, 12)
    assert limits["12"]["minTileCol"] <= t.x <= limits["12"]["maxTileCol"]
    assert limits["12"]["minTileRow"] <= t.y <= limits["12"]["maxTileRow"]


def test_tile_matrix_sets(client: Any) -> None:
    listed = {s["id"] for s in client.get("/tileMatrixSets").get_json()["tileMatrixSets"]}
    assert listed == {"WebMercatorQuad", "ETRS-TM35FIN", "SWEREF99TM"}
    jhs = client.get("/tileMatrixSets/ETRS-TM35FIN").get_json()
    assert jhs["crs"].endswith("/3067")
    assert jhs["tileMatrices"][0]["pointOfOrigin"] == [-548576.0, 8388608.0]
    assert jhs["tileMatrices"][0]["cellSize"] == 8192.0


def test_raster_png_tiles(client: Any, add_raster: Any) -> None:
    add_raster("ortho")
    info = client.get("/collections/ortho").get_json()
    assert info["dataType"] == "map" and "itemType" not in info
    minx, miny, maxx, maxy = info["extent"]["spatial"]["bbox"][0]
    tile = WMQ.tile((minx + maxx) / 2, (miny + maxy) / 2, 14)
    response = client.get(f"/collections/ortho/tiles/WebMercatorQuad/14/{tile.y}/{tile.x}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (256, 256)
    pixels = np.asarray(image.convert("RGBA"))
    opaque = pixels[..., 3] > 0
    assert opaque.mean() > 0.5
    assert pixels[opaque][:, :3].std() > 1, "a gradient, not a blank tile"
    far = WMQ.tile(0.0, 0.0, 14)
    assert client.get(f"/collections/ortho/tiles/WebMercatorQuad/14/{far.y}/{far.x}"
                      ).status_code == 204
    assert_problem(client.get("/collections/ortho/items"), 400)


def test_low_zoom_tiles_stay_small(client: Any, add_layer: Any) -> None:
    dense = make_buildings(30_000, span_m=6_000, nulls=False)
    add_layer("dense", dense)
    centre = dense.geometry.union_all().centroid
    sizes = {}
    for zoom in (8, 10, 12):
        tile = WMQ.tile(centre.x, centre.y, zoom)
        response = client.get(f"/collections/dense/tiles/WebMercatorQuad/{zoom}/{tile.y}/"
                              f"{tile.x}")
        assert response.status_code in (200, 204)
        sizes[zoom] = len(response.data)
        assert sizes[zoom] < 500_000
    kept = decode(client.get(f"/collections/dense/tiles/WebMercatorQuad/12/{tile.y}/"
                             f"{tile.x}").data)["dense"]["features"]
    assert 0 < len(kept) <= 10_000
    # at street level nothing is left out
    tile = WMQ.tile(centre.x, centre.y, 16)
    data = client.get(f"/collections/dense/tiles/WebMercatorQuad/16/{tile.y}/{tile.x}").data
    got = {f["id"] for f in decode(data)["dense"]["features"]}
    assert expected_ids(dense, WMQ, tile, "EPSG:3857") <= got

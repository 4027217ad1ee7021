"""Base maps webmap draws itself: pixel colours at known coordinates in every grid, caching,
errors, and the demo base maps rendered for people to look at."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from PIL import Image
from pyproj import Transformer

from tests.conftest import ROOT, assert_problem, open_app
from webmap.basemap import BasemapError, web_zoom
from webmap.basemap.build import build_basemap
from webmap.layers import import_file
from webmap.services import services_of
from webmap.settings import Settings
from webmap.tiles.grids import GRID_EPSG, GRIDS
from webmap.tiles.request import TileRequest

SEA = (0xAA, 0xD3, 0xDF)
LAND = (0xF2, 0xEF, 0xE9)
PARK = (0xDC, 0xEA, 0xD0)
BUILDING = (0xE3, 0xDA, 0xCE)
ROAD = (0xFF, 0xFF, 0xFF)
SCREENSHOTS = ROOT / "data" / "screenshots"

TEST_BASEMAP: dict[str, Any] = {
    "title": {"fi": "Testi", "sv": "Test", "en": "Test"},
    "attribution": "Test data",
    "background": "#aad3df",
    "layers": [
        {"layer": "land", "fill": "#f2efe9"},
        {"layer": "land", "fill": "#dcead0", "where": {"property": "kind", "in": ["park"]}},
        {"layer": "buildings", "fill": "#e3dace",
         "where": {"property": "building", "not_null": True}},
        {"layer": "roads", "stroke": "#888888", "stroke_width": 6,
         "where": {"property": "highway", "in": ["primary"]}},
        {"layer": "roads", "stroke": "#ffffff", "stroke_width": 4,
         "where": {"property": "highway", "in": ["primary"]}},
    ],
}
MISSING_BASEMAP = {**TEST_BASEMAP, "layers": [{"layer": "nowhere", "fill": "#000000"},
                                              {"layer": "land", "fill": "#f2efe9"}]}

# Places in EPSG:3067 (near Helsinki) and the colour each must show.
INSIDE_LAND = (370_000.0, 6_690_000.0)
LAKE = (379_100.0, 6_681_500.0)
ISLAND = (379_500.0, 6_681_500.0)
OPEN_SEA = (420_000.0, 6_675_000.0)
PARK_CENTRE = (393_000.0, 6_683_000.0)
ROAD_CENTRE = (380_000.0, 6_660_000.0)
FOOTWAY_CENTRE = (380_000.0, 6_665_000.0)
BUILDING_CENTRE = (395_200.0, 6_655_200.0)
NULL_BUILDING_CENTRE = (397_200.0, 6_655_200.0)
EXPECTED = [(INSIDE_LAND, LAND), (LAKE, SEA), (ISLAND, LAND), (OPEN_SEA, SEA),
            (PARK_CENTRE, PARK), (ROAD_CENTRE, ROAD), (FOOTWAY_CENTRE, LAND),
            (BUILDING_CENTRE, BUILDING), (NULL_BUILDING_CENTRE, LAND)]
GRID_ZOOMS = [("WebMercatorQuad", 12), ("ETRS-TM35FIN", 8), ("SWEREF99TM", 7)]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The backend's settings with a styles directory holding the test and demo base maps."""
    folder = tmp_path / "styles" / "basemaps"
    folder.mkdir(parents=True)
    (folder / "test.json").write_text(json.dumps(TEST_BASEMAP), "utf-8")
    (folder / "missing.json").write_text(json.dumps(MISSING_BASEMAP), "utf-8")
    for path in (ROOT / "styles" / "basemaps").glob("*.json"):
        shutil.copy(path, folder / path.name)
    return dataclasses.replace(settings, styles_dir=tmp_path / "styles")


def in_crs84(geoms: list[Any], **columns: list[Any]) -> gpd.GeoDataFrame:
    """EPSG:3067 geometries (cut into 100-m edges, to stay straight there) as a CRS84 frame."""
    return gpd.GeoDataFrame(columns, geometry=shapely.segmentize(geoms, 100.0),
                            crs="EPSG:3067").to_crs("OGC:CRS84")


def land_frame(*, lake: bool = True) -> gpd.GeoDataFrame:
    """A 50-km land square with a 1.2-km lake holding an island, and a park.

    The lake lies well inside one tile of each grid in ``GRID_ZOOMS``, so the tile's polygon
    keeps its hole: clearing holes on a mask shared with the island would erase the island.
    """
    holes = [shapely.box(378_900, 6_680_900, 380_100, 6_682_100).exterior.coords] if lake else []
    land = shapely.Polygon(shapely.box(360_000, 6_650_000, 410_000, 6_700_000).exterior.coords,
                           holes)
    island = shapely.box(379_300, 6_681_300, 379_700, 6_681_700)
    park = shapely.box(392_000, 6_682_000, 394_000, 6_684_000)
    return in_crs84([island, land, park], kind=["island", "land", "park"])


@pytest.fixture
def layers(add_layer: Any) -> None:
    """Land with a lake, a primary road and a footway, a building and an untagged one."""
    add_layer("land", land_frame())
    add_layer("roads", in_crs84(
        [shapely.LineString([(365_000, 6_660_000), (405_000, 6_660_000)]),
         shapely.LineString([(365_000, 6_665_000), (405_000, 6_665_000)])],
        highway=["primary", "footway"]))
    add_layer("buildings", in_crs84(
        [shapely.box(395_000, 6_655_000, 395_400, 6_655_400),
         shapely.box(397_000, 6_655_000, 397_400, 6_655_400)],
        building=["yes", None]))


def tile_of(grid_id: str, zoom: int, x: float, y: float, *, size: int = 256
            ) -> tuple[int, int, int, int]:
    """(row, col, pixel x, pixel y) of an EPSG:3067 point in a grid, computed with pyproj."""
    tms = GRIDS[grid_id]
    lon, lat = Transformer.from_crs("EPSG:3067", "OGC:CRS84", always_xy=True).transform(x, y)
    tile = tms.tile(lon, lat, zoom)
    gx, gy = Transformer.from_crs("EPSG:3067", GRID_EPSG[grid_id],
                                  always_xy=True).transform(x, y)
    b = tms.xy_bounds(tile)
    return (tile.y, tile.x, int((gx - b.left) / (b.right - b.left) * size),
            int((b.top - gy) / (b.top - b.bottom) * size))


def tile_image(client: Any, path: str) -> Image.Image:
    """GET a PNG tile and open it."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/png"
    return Image.open(io.BytesIO(response.data))


def colour_at(client: Any, basemap: str, grid_id: str, zoom: int, point: tuple[float, float],
              *, scale: int = 1) -> tuple[int, int, int]:
    """The colour the base map shows at an EPSG:3067 point."""
    size = 256 * scale
    row, col, px, py = tile_of(grid_id, zoom, *point, size=size)
    suffix = "@2x" if scale == 2 else ""
    image = tile_image(client, f"/basemaps/{basemap}/tiles/{grid_id}/{zoom}/{row}/{col}"
                               f"{suffix}.png")
    assert image.size == (size, size)
    rgb: tuple[int, int, int] = image.convert("RGB").getpixel((px, py))  # type: ignore[assignment]
    return rgb


@pytest.mark.usefixtures("layers")
@pytest.mark.parametrize(("grid_id", "zoom"), GRID_ZOOMS)
def test_pixels_show_land_lake_island_roads_and_filters(client: Any, grid_id: str,
                                                         zoom: int) -> None:
    got = [colour_at(client, "test", grid_id, zoom, point) for point, _ in EXPECTED]
    assert got == [colour for _, colour in EXPECTED]


@pytest.mark.usefixtures("layers")
def test_high_dpi_tiles_are_512_px_with_the_same_colours(client: Any) -> None:
    got = [colour_at(client, "test", "WebMercatorQuad", 12, point, scale=2)
           for point, _ in EXPECTED]
    assert got == [colour for _, colour in EXPECTED]


@pytest.mark.usefixtures("layers")
def test_png_uses_a_palette(client: Any) -> None:
    row, col, _, _ = tile_of("WebMercatorQuad", 13, *ROAD_CENTRE)
    image = tile_image(client, f"/basemaps/test/tiles/WebMercatorQuad/13/{row}/{col}.png")
    assert image.mode == "P"


@pytest.mark.usefixtures("layers")
def test_a_tile_without_features_is_background(client: Any) -> None:
    image = tile_image(client, "/basemaps/test/tiles/WebMercatorQuad/10/400/300.png")
    assert image.convert("RGB").getcolors() == [(256 * 256, SEA)]


@pytest.mark.usefixtures("layers")
def test_etag_answers_304(client: Any) -> None:
    path = "/basemaps/test/tiles/ETRS-TM35FIN/9/{}/{}.png".format(
        *tile_of("ETRS-TM35FIN", 9, *LAKE)[:2])
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag and not again.data
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize(("path", "mentions"), [
    ("/basemaps/nope", "no base map 'nope'"),
    ("/basemaps/nope/tiles/WebMercatorQuad/1/0/0.png", "no base map 'nope'"),
    ("/basemaps/test/tiles/NoSuchGrid/1/0/0.png", "no tile matrix set 'NoSuchGrid'"),
    ("/basemaps/test/tiles/WebMercatorQuad/25/0/0.png", "outside WebMercatorQuad's 0..24"),
    ("/basemaps/test/tiles/WebMercatorQuad/2/0/4.png", "level 2 has 4 rows and 4 columns"),
    ("/basemaps/test/tiles/ETRS-TM35FIN/3/8/0.png", "outside ETRS-TM35FIN"),
])
@pytest.mark.usefixtures("layers")
def test_not_found_is_a_problem(client: Any, path: str, mentions: str) -> None:
    assert_problem(client.get(path), 404, mentions=mentions)


@pytest.mark.usefixtures("layers")
def test_a_base_with_a_missing_layer_is_not_offered(client: Any,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="webmap.basemap"):
        row, col, _, _ = tile_of("WebMercatorQuad", 13, *INSIDE_LAND)
        response = client.get(f"/basemaps/missing/tiles/WebMercatorQuad/13/{row}/{col}.png")
    assert_problem(response, 404, mentions="layer nowhere is not imported")
    assert_problem(client.get("/basemaps/missing"), 404, mentions="not offered")
    ids = [b["id"] for b in client.get("/basemaps").get_json()["basemaps"]]
    assert "missing" not in ids and "test" in ids
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("nowhere" in m and "missing" in m for m in warnings), warnings


def test_a_fresh_data_folder_offers_no_demo_base(client: Any) -> None:
    """No demo layers: finland and helsinki would draw an empty sea under NLS's name."""
    ids = [b["id"] for b in client.get("/basemaps").get_json()["basemaps"]]
    assert "finland" not in ids and "helsinki" not in ids
    assert_problem(client.get("/basemaps/finland/tiles/WebMercatorQuad/5/9/18.png"), 404,
                   mentions="municipalities is not imported")


@pytest.mark.usefixtures("layers")
def test_cache_is_reused_and_dropped_when_a_layer_is_replaced(client: Any, settings: Settings,
                                                              add_layer: Any) -> None:
    row, col, px, py = tile_of("WebMercatorQuad", 13, *LAKE)
    path = f"/basemaps/test/tiles/WebMercatorQuad/13/{row}/{col}.png"
    first = client.get(path)
    assert Image.open(io.BytesIO(first.data)).convert("RGB").getpixel((px, py)) == SEA
    cached = list((settings.data_dir / "cache" / "basemaps" / "test").glob(
        f"*/WebMercatorQuad/13/{row}/{col}.png"))
    assert len(cached) == 1 and cached[0].read_bytes() == first.data
    # a different picture in the cache proves the next answer comes from it, not a render
    marker = io.BytesIO()
    Image.new("RGB", (256, 256), (255, 0, 255)).save(marker, "PNG")
    cached[0].write_bytes(marker.getvalue())
    assert client.get(path).data == marker.getvalue()

    add_layer("land", land_frame(lake=False))  # the lake is filled in
    replaced = client.get(path)
    assert replaced.headers["ETag"] != first.headers["ETag"]
    assert Image.open(io.BytesIO(replaced.data)).convert("RGB").getpixel((px, py)) == LAND
    assert not cached[0].exists()


@pytest.mark.usefixtures("layers")
def test_listing_and_definition(client: Any) -> None:
    listing = client.get("/basemaps").get_json()
    ids = [b["id"] for b in listing["basemaps"]]
    assert ids == sorted(ids) and "test" in ids
    test = next(b for b in listing["basemaps"] if b["id"] == "test")
    assert test["title"]["sv"] == "Test" and test["attribution"] == "Test data"
    assert any(link["rel"] == "self" and link["href"].endswith("/basemaps/test")
               for link in test["links"])
    body = client.get("/basemaps/test").get_json()
    assert body["background"] == "#aad3df"
    assert [item["layer"] for item in body["layers"]] == [
        item["layer"] for item in TEST_BASEMAP["layers"]]
    assert body["layers"][1]["where"] == {"property": "kind", "in": ["park"]}
    assert set(body["tiles"]) == set(GRIDS)
    for grid_id, template in body["tiles"].items():
        tile_path = template.replace("http://localhost", "").format(z=0, y=0, x=0)
        assert tile_path == f"/basemaps/test/tiles/{grid_id}/0/0/0.png"
        assert client.get(tile_path).status_code == 200
        two = body["tiles@2x"][grid_id].replace("http://localhost", "").format(z=0, y=0, x=0)
        assert Image.open(io.BytesIO(client.get(two).data)).size == (512, 512)


@pytest.mark.parametrize(("change", "mentions"), [
    ({"background": "blue"}, "broken.json.background"),
    ({"layers": [{"layer": "land"}]}, "layers[0]: give a fill, a stroke or both, or a label"),
    ({"layers": [{"layer": "land", "fill": "#ffffff", "stroke-width": 2}]},
     "unknown key 'stroke-width'"),
    ({"layers": [{"layer": "land", "fill": "#ffffff", "where": {"property": "a"}}]},
     "layers[0].where"),
    ({"id": "other"}, "differs from the file name"),
])
def test_a_bad_base_map_stops_start_up(tmp_path: Path, change: dict[str, Any],
                                       mentions: str) -> None:
    folder = tmp_path / "styles" / "basemaps"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text(json.dumps({**TEST_BASEMAP, **change}), "utf-8")
    with pytest.raises(BasemapError, match="broken.json") as caught:
        open_app(Settings(data_dir=tmp_path / "data", styles_dir=tmp_path / "styles"))
    assert mentions in str(caught.value)


@pytest.mark.parametrize(("grid_id", "zoom", "expected"), [
    ("WebMercatorQuad", 15, 15), ("ETRS-TM35FIN", 9, 12), ("ETRS-TM35FIN", 0, 3)])
def test_zoom_bounds_compare_at_web_mercator_scale(grid_id: str, zoom: int,
                                                   expected: int) -> None:
    tms = GRIDS[grid_id]
    tile = tms.tile(24.94, 60.17, zoom)
    assert web_zoom(TileRequest(grid=tms, zoom=zoom, row=tile.y, col=tile.x)) == expected


DEMO_TILES = [
    ("helsinki", "WebMercatorQuad", 15, (24.9440, 60.1700), "helsinki-z15-webmercator"),
    ("finland", "ETRS-TM35FIN", 5, (22.6850, 60.4550), "paimio-z5-etrs-tm35fin"),
    ("helsinki-osm", "WebMercatorQuad", 16, (24.9440, 60.1700), "helsinki-osm-z16-webmercator"),
    ("helsinki-osm-contrast", "ETRS-TM35FIN", 12, (24.9440, 60.1700),
     "helsinki-osm-contrast-z12-etrs-tm35fin"),
]


@pytest.mark.slow
def test_demo_base_maps_render(app: Any, client: Any, settings: Settings) -> None:
    manifest_path = settings.layers_dir / "demo" / "demo.json"
    manifest = {e["id"]: e for e in json.loads(manifest_path.read_text("utf-8"))["layers"]}
    store = services_of(app).layers
    for layer_id in ("municipalities", "postal-areas", "helsinki-areas", "helsinki-roads"):
        entry = manifest[layer_id]
        options = {k: v for k, v in entry.items() if k not in {"id", "path"}}
        import_file(store, manifest_path.parent / entry["path"], layer_id, **options)
    demo = json.loads(manifest_path.read_text("utf-8"))["basemaps"][0]
    build_basemap(store, settings.styles_dir, demo["id"],
                  [manifest_path.parent / source for source in demo["sources"]],
                  write_styles=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    backend = services_of(app).backend
    for basemap, grid_id, zoom, (lon, lat), name in DEMO_TILES:
        tile = GRIDS[grid_id].tile(lon, lat, zoom)
        response = client.get(f"/basemaps/{basemap}/tiles/{grid_id}/{zoom}/{tile.y}/{tile.x}.png")
        assert response.status_code == 200
        (SCREENSHOTS / f"basemap-{name}-{backend}.png").write_bytes(response.data)
        colours = Image.open(io.BytesIO(response.data)).convert("RGB").getcolors(256 * 256)
        assert colours is not None and len(colours) > 1, f"{name} is a single colour"
        assert (LAND if basemap in {"finland", "helsinki"} else
                {"helsinki-osm": (0xF2, 0xEF, 0xE9), "helsinki-osm-contrast": (255, 255, 255)
                 }[basemap]) in {rgb for _, rgb in colours}

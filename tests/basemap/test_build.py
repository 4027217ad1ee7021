"""``webmap basemap build`` on a fresh data folder: real OSM and NLS data, drawn tiles read back
(pixel colours where streets, buildings and water are; names read with Tesseract OCR)."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from PIL import Image
from pyproj import Transformer

from tests.conftest import ROOT, assert_problem
from webmap.basemap.draw import draw_image
from webmap.cli import main
from webmap.services import services_of
from webmap.settings import Settings
from webmap.tiles.grids import GRID_EPSG, GRIDS
from webmap.tiles.request import tile_request

DATA = ROOT.parent / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")
HELSINKI = DATA / "osm_pbf_helsinki_kotka" / "Helsinki.osm.pbf"
KOTKA = DATA / "osm_pbf_helsinki_kotka" / "test.osm.pbf"
NLS = DATA / "fi_nls_maastotietokanta_L4132R"
pytestmark = pytest.mark.skipif(not HELSINKI.is_file(), reason="shared data not found")

KAIVOKATU = (24.9440, 60.1700)
"""A point in central Helsinki where Kaivokatu / Brunngatan runs across the tile."""


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """A fresh data folder with the repository's styles (the demo bases among them)."""
    shutil.copytree(ROOT / "styles", tmp_path / "styles")
    return dataclasses.replace(settings, styles_dir=tmp_path / "styles")


def run(settings: Settings, *args: str | Path) -> Any:
    env = {"WEBMAP_DATA_DIR": str(settings.data_dir), "WEBMAP_STYLES_DIR": str(settings.styles_dir),
           "WEBMAP_LAYERS_DIR": str(settings.layers_dir),
           "WEBMAP_DATABASE_URL": settings.database_url or "", "WEBMAP_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def tile_at(grid_id: str, zoom: int, lon: float, lat: float) -> tuple[int, int]:
    found = GRIDS[grid_id].tile(lon, lat, zoom)
    return found.y, found.x


def fetch(client: Any, path: str) -> Image.Image:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/png"
    return Image.open(io.BytesIO(response.data)).convert("RGB")


def read_text(image: Image.Image) -> str:
    """Every word Tesseract reads in a label image, trying small rotations for street names."""
    import pytesseract

    grey = image.convert("L")
    words: set[str] = set()
    for angle in (0, -6, 6, -12, 12, 90, -90):
        turned = grey.rotate(angle, fillcolor=255, resample=Image.Resampling.BICUBIC)
        big = turned.resize((turned.width * 2, turned.height * 2), Image.Resampling.LANCZOS)
        words |= set(pytesseract.image_to_string(big, config="--psm 11").split())
    return " ".join(sorted(words))


def labels_only(services: Any, basemap_id: str, grid_id: str, zoom: int,
                point: tuple[float, float]) -> tuple[Image.Image, Image.Image]:
    """The tile as drawn, and its label passes alone on white (the same placements)."""
    basemap = services.basemaps.get(basemap_id)
    snapshot = services.basemaps.snapshot(basemap)
    row, col = tile_at(grid_id, zoom, *point)
    tile = tile_request(grid_id, zoom, row, col)
    sources = {layer_id: services.layers.vector_tile(snapshot.layers[layer_id], tile)
               for layer_id in services.basemaps.visible_layers(basemap, tile, snapshot)}
    full = draw_image(basemap, sources, tile, scale=2)
    text_only = dataclasses.replace(
        basemap, background="#ffffff",
        layers=tuple(item for item in basemap.layers if item.label is not None))
    return full, draw_image(text_only, sources, tile, scale=2)


@pytest.fixture
def built(settings: Settings) -> dict[str, Any]:
    result = run(settings, "basemap", "build", HELSINKI, "--id", "koti", "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_a_fresh_folder_builds_a_base_bound_to_its_own_layers(built: dict[str, Any],
                                                               settings: Settings,
                                                               app: Any, client: Any) -> None:
    assert set(built["layers"]) == {f"koti-{f}" for f in
                                    ("water", "green", "buildings", "streets", "places")}
    assert built["layers"]["koti-buildings"] > 400
    for name in ("koti", "koti-contrast"):
        style = json.loads((settings.styles_dir / "basemaps" / f"{name}.json").read_text("utf-8"))
        named = {item["layer"] for item in style["layers"]}
        assert named <= set(built["layers"]), named
        assert "OpenStreetMap" in style["attribution"]
    ids = [b["id"] for b in client.get("/basemaps").get_json()["basemaps"]]
    assert ids == ["koti", "koti-contrast"]  # the demo bases have no layers here
    for layer_id in built["layers"]:
        assert client.get(f"/collections/{layer_id}").status_code == 200


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize(("grid_id", "zoom", "names"), [
    ("WebMercatorQuad", 16, ("Kaivokatu", "Brunngatan")),
    ("ETRS-TM35FIN", 12, ("Fabianinkatu", "Fabiansgatan"))])
def test_tiles_draw_streets_buildings_and_readable_names(app: Any, client: Any, grid_id: str,
                                                         zoom: int, names: tuple[str, str],
                                                         settings: Settings) -> None:
    style = json.loads((settings.styles_dir / "basemaps" / "koti.json").read_text("utf-8"))
    fills = {item["layer"].split("-")[-1]: item for item in style["layers"]
             if item.get("fill") or item.get("stroke")}
    row, col = tile_at(grid_id, zoom, *KAIVOKATU)
    image = fetch(client, f"/basemaps/koti/tiles/{grid_id}/{zoom}/{row}/{col}@2x.png")
    colours = {c: n for n, c in image.getcolors(512 * 512) or []}
    share = {name: colours.get(rgb(item.get("fill") or item["stroke"]), 0) / 512 ** 2
             for name, item in fills.items()}
    assert share["buildings"] > 0.05, share
    major = next(i for i in style["layers"] if i.get("where") == {"property": "kind",
                                                                 "in": ["major"]}
                 and i.get("stroke") and not i.get("label"))
    assert colours.get(rgb(major["stroke"]), 0) > 500  # the casing of the main streets
    full, text = labels_only(services_of(app), "koti", grid_id, zoom, KAIVOKATU)
    words = read_text(text)
    assert names[0] in words and names[1] in words, words  # Finnish and Swedish
    # the labels are on top: where the text-only image has dark ink, the tile has it too
    dark = [xy for xy in ((x, y) for x in range(0, 512, 2) for y in range(0, 512, 2))
            if sum(text.getpixel(xy)) < 200]
    assert len(dark) > 100
    kept = sum(1 for xy in dark if sum(full.getpixel(xy)) < 250)
    assert kept / len(dark) > 0.9


@pytest.mark.usefixtures("built")
def test_place_names_in_both_languages(app: Any) -> None:
    _, text = labels_only(services_of(app), "koti", "ETRS-TM35FIN", 11, KAIVOKATU)
    words = read_text(text)
    assert "Helsinki" in words and "Helsingfors" in words, words


@pytest.mark.usefixtures("built")
def test_high_contrast_variant_draws_black_casings_and_text(client: Any) -> None:
    row, col = tile_at("WebMercatorQuad", 16, *KAIVOKATU)
    plain = fetch(client, f"/basemaps/koti/tiles/WebMercatorQuad/16/{row}/{col}.png")
    strong = fetch(client, f"/basemaps/koti-contrast/tiles/WebMercatorQuad/16/{row}/{col}.png")
    def near_black(image: Image.Image) -> int:
        return sum(n for n, c in image.getcolors(256 * 256) or [] if max(c) < 40)

    assert near_black(strong) > 1500 and near_black(plain) < near_black(strong) / 10
    listing = {b["id"]: b for b in client.get("/basemaps").get_json()["basemaps"]}
    assert "high contrast" in listing["koti-contrast"]["title"]["en"]


@pytest.mark.usefixtures("built")
def test_styles_are_judged_on_the_drawn_bases(app: Any) -> None:
    styles = services_of(app).styles
    palettes = styles.offered()
    assert set(palettes) == {"koti", "koti-contrast"}
    assert styles.basemaps()["koti"] == palettes["koti"]  # drawn, not the file's list
    assert set(styles.basemaps()) >= {"finland", "helsinki"}  # still known, not offered
    assert palettes["koti"][0] == "#f2efe9" and "#dad1c6" in palettes["koti"]
    # areas a feature lies on count; the thin black casings and names that cross it do not
    assert {"#ffffff", "#bdbdbd"} <= set(palettes["koti-contrast"])
    assert "#000000" not in palettes["koti-contrast"]


def test_nls_topographic_data_draws_lakes_in_the_national_grid(settings: Settings,
                                                               app: Any, client: Any) -> None:
    result = run(settings, "basemap", "build", NLS, "--id", "maasto", "--json")
    assert result.exit_code == 0, result.output
    layers = json.loads(result.output)["layers"]
    assert {"maasto-streets", "maasto-water", "maasto-places"} <= set(layers)
    lakes = pyogrio.read_dataframe(NLS / "m_L4132R_p.shp", where="LUOKKA = 36200")
    lake = lakes.geometry.iloc[int(lakes.geometry.area.argmax())]
    x, y = shapely.get_coordinates(lake.representative_point())[0]
    lon, lat = Transformer.from_crs("EPSG:3067", "OGC:CRS84", always_xy=True).transform(x, y)
    tms = GRIDS["ETRS-TM35FIN"]
    cell = tms.tile(lon, lat, 10)
    bounds = tms.xy_bounds(cell)
    gx, gy = Transformer.from_crs("EPSG:3067", GRID_EPSG["ETRS-TM35FIN"],
                                  always_xy=True).transform(x, y)
    px = int((gx - bounds.left) / (bounds.right - bounds.left) * 256)
    py = int((bounds.top - gy) / (bounds.top - bounds.bottom) * 256)
    image = fetch(client, f"/basemaps/maasto/tiles/ETRS-TM35FIN/10/{cell.y}/{cell.x}.png")
    assert image.getpixel((px, py)) == rgb("#9ccbe0")


def test_styles_check_reports_bases_without_layers(settings: Settings) -> None:
    result = run(settings, "styles", "check")
    assert "base map 'finland' is not offered: its layer municipalities" in result.output


def test_a_bad_source_is_one_line(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", "utf-8")
    result = run(settings, "basemap", "build", tmp_path / "notes.txt", "--id", "x")
    assert result.exit_code == 2
    assert "notes.txt: give an OpenStreetMap extract" in result.output


@pytest.mark.usefixtures("built")
def test_a_removed_layer_takes_the_base_off_offer(app: Any, client: Any) -> None:
    services_of(app).layers.remove_layer("koti-buildings")
    row, col = tile_at("WebMercatorQuad", 16, *KAIVOKATU)
    assert_problem(client.get(f"/basemaps/koti/tiles/WebMercatorQuad/16/{row}/{col}.png"), 404,
                   mentions="koti-buildings is not imported")


def test_the_shipped_demo_base_is_what_the_build_writes(tmp_path: Path) -> None:
    """styles/basemaps/helsinki-osm*.json bind to the layers `webmap demo` builds."""
    from webmap.basemap.build import FAMILIES, basemap_style, read_source

    manifest = json.loads((ROOT / "layers" / "demo" / "demo.json").read_text("utf-8"))
    entry = next(e for e in manifest["basemaps"] if e["id"] == "helsinki-osm")
    found, attribution = read_source(ROOT / "layers" / "demo" / entry["sources"][0])
    families = [f for f in FAMILIES if f in found]
    for variant, palette in (("", "STANDARD"), ("-contrast", "HIGH_CONTRAST")):
        from webmap.basemap import build

        expected = basemap_style("helsinki-osm", families, getattr(build, palette),
                                 attribution=attribution, title=entry["title"],
                                 contrast=bool(variant))
        shipped = json.loads((ROOT / "styles" / "basemaps" / f"helsinki-osm{variant}.json"
                              ).read_text("utf-8"))
        assert shipped == expected


def test_sea_is_cut_from_the_coastline(tmp_path: Path) -> None:
    """OSM coastlines have the land on the left: the right side of the box is sea."""
    from webmap.basemap.build import sea_faces

    box = shapely.box(0, 0, 10, 10)
    coast = shapely.LineString([(5, 1), (5, 9)])  # northwards, cut short of the box
    faces = sea_faces([coast], box)
    assert len(faces) == 1
    assert faces[0].contains(shapely.Point(8, 5)) and not faces[0].contains(shapely.Point(2, 5))
    assert abs(faces[0].area - 50) < 1e-6

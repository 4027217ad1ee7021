"""The demo layers (layers/demo/demo.json) through real clients on a live gunicorn server.

Every vector layer: GDAL's OGC API Features driver reads all of it with å ä ö intact, OWSLib
pages through it with every id exactly once, and a national CRS output equals pyproj's
transform of the CRS84 output to 1 cm. Every raster layer: a PNG tile at its centre is not
blank, in every grid the server offers for it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import morecantile
import numpy as np
import pyogrio
import pytest
import requests
import shapely
from owslib.ogcapi.features import Features
from PIL import Image
from pyproj import CRS, Transformer

from tests.conftest import ROOT, LiveServer

DEMO = ROOT / "layers" / "demo"
MANIFEST: list[dict[str, Any]] = json.loads((DEMO / "demo.json").read_text("utf-8"))["layers"]
RASTER_SUFFIXES = (".tif", ".tiff")
VECTOR_IDS = [e["id"] for e in MANIFEST if not e["path"].lower().endswith(RASTER_SUFFIXES)]
RASTER_IDS = [e["id"] for e in MANIFEST if e["path"].lower().endswith(RASTER_SUFFIXES)]

TEXT: dict[str, dict[str, str]] = {
    "municipalities": {"namefin": "Pöytyä", "nameswe": "Föglö"},
    "postal-areas": {"nimi": "Etelä-Leppävaara", "nimi_ru": "Södra Alberga"},
    "districts": {"nimi": "Östersundom"},
    "se-roads": {"objekttyp": "Mötesfri väg", "alternativt_manér": "Nej"},
    "se-landcover": {"objekttyp": "Åker"},
    "helsinki-places": {"name": "Pääposti"},
    "asemakaava-alueet": {"maankaytto_asemakaava_kaavamerkinta": "Jätteenkäsittelyalue"},
    "asemakaava-osa-alueet": {
        "osa_alueet_asemakaava_kaavamerkinta": "Ajoneuvoliittymän likimääräinen sijainti"},
    "asemakaava-viivat": {
        "viivat_asemakaava_kaavamerkinta": "Risti merkinnän päällä osoittaa merkinnän poistamista"},
    "asemakaava-pisteet": {"pisteet_asemakaava_kaavamerkinta": (
        "Alleviivattu luku osoittaa ehdottomasti käytettävän rakennusoikeuden, rakennuksen "
        "korkeuden, kattokaltevuuden tai muun määräyksen")},
    "helsinki-areas": {"name": "Helsingin päärautatieasema"},
    "helsinki-roads": {"name": "Eteläesplanadi"},
}
"""Per demo vector layer: a text column (name as served) and a value with å/ä/ö/é in it."""
DROPPED = {"helsinki-areas": 27, "helsinki-roads": 1}
"""OSM features without a usable geometry (unclosed rings, one-node ways), left out on import."""
NATIONAL_CRS = (3067, 3006)
"""The national CRS checked for a layer: the first whose area of use holds its bbox."""
AREA_TOLERANCE_DEG = 0.05
"""EPSG rounds areas of use to 0.01° (Finland's north edge 70.09 cuts Utsjoki at 70.092)."""
PAGE = 1000


def _webmap() -> list[str]:
    script = Path(sys.executable).parent / "webmap"
    return [str(script)] if script.is_file() else [sys.executable, "-c",
                                                   "from webmap.cli import main; main()"]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``webmap demo`` into a fresh data dir (as ``make run`` does), served by gunicorn."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBMAP_")}
    env |= {"WEBMAP_DATA_DIR": str(data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers")}
    done = subprocess.run([*_webmap(), "demo"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    server = LiveServer(data_dir)
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def collections(demo_url: str) -> dict[str, dict[str, Any]]:
    """The collection documents by id: the feature collections /collections lists, and the
    rasters whose tilesets the landing page links (feature clients do not look there)."""
    body = requests.get(f"{demo_url}/collections", timeout=30).json()
    found = {c["id"]: c for c in body["collections"]}
    landing = requests.get(f"{demo_url}/", timeout=30).json()
    for item in landing["links"]:
        if item["rel"].endswith("/tilesets-map"):
            described = requests.get(item["href"].removesuffix("/tiles"), timeout=30).json()
            assert described["id"] not in found, "a raster is not a feature collection"
            found[described["id"]] = described
    return found


def _entry(layer_id: str) -> dict[str, Any]:
    return next(e for e in MANIFEST if e["id"] == layer_id)


def _source_column(layer_id: str, column: str) -> list[Any]:
    """A column of the demo file itself, read directly with GDAL (names matched loosely)."""
    entry = _entry(layer_id)
    path = str(DEMO / entry["path"])
    if path.endswith(".zip"):
        path = "/vsizip/" + path
    frame = pyogrio.read_dataframe(path, layer=entry.get("layer"), read_geometry=False)
    names = {str(c).lower(): c for c in frame.columns}
    return list(frame[names[column.lower()]])


def _features(url: str, layer_id: str, crs_uri: str | None = None) -> dict[str, Any]:
    """Every feature in one request (the demo layers have fewer than 10,000)."""
    params = {"limit": "10000"} | ({"crs": crs_uri} if crs_uri else {})
    response = requests.get(f"{url}/collections/{layer_id}/items", params=params, timeout=60)
    assert response.status_code == 200, response.text[:300]
    body: dict[str, Any] = response.json()
    body["content_crs"] = response.headers.get("Content-Crs")
    return body


def test_manifest_matches_what_is_served(collections: dict[str, dict[str, Any]]) -> None:
    assert len(MANIFEST) == 14
    demo = json.loads((DEMO / "demo.json").read_text("utf-8"))
    plans = [f"{p['id']}-areas" for p in demo["plans"]]
    built = [f"{b['id']}-{family}" for b in demo["basemaps"]
             for family in ("water", "green", "buildings", "streets", "places")]
    assert sorted(collections) == sorted([e["id"] for e in MANIFEST] + plans + built)
    for entry in MANIFEST:
        served = collections[entry["id"]]
        assert served["title"] == entry["title"]
        assert served["attribution"] == entry["attribution"]
        assert (served.get("itemType") == "feature") == (entry["id"] in VECTOR_IDS)
        assert (DEMO / entry["path"]).is_file()
    assert set(TEXT) == set(VECTOR_IDS), "every demo vector layer needs a text check"


@pytest.mark.parametrize("layer_id", VECTOR_IDS)
def test_gdal_reads_every_feature_with_its_text(demo_url: str, collections: dict[str, Any],
                                                layer_id: str) -> None:
    expected = collections[layer_id]["numberOfFeatures"]
    got = pyogrio.read_dataframe(f"OAPIF:{demo_url}/collections/{layer_id}")
    assert len(got) == expected > 0
    assert got.geometry.notna().all()
    for column, value in TEXT[layer_id].items():
        assert column in got.columns, list(got.columns)
        assert value in set(got[column]), f"{value!r} not in {layer_id}.{column}"
        source = Counter(v for v in _source_column(layer_id, column) if isinstance(v, str))
        served = Counter(v for v in got[column] if isinstance(v, str))
        if layer_id in DROPPED:
            assert not served - source, f"{layer_id}.{column} has values not in the file"
            assert (source - served).total() <= DROPPED[layer_id]
        else:
            assert served == source, f"{layer_id}.{column} differs from the demo file"


@pytest.mark.parametrize("layer_id", VECTOR_IDS)
def test_owslib_pages_every_id_once(demo_url: str, collections: dict[str, Any],
                                    layer_id: str) -> None:
    expected = collections[layer_id]["numberOfFeatures"]
    api = Features(demo_url)
    seen: list[Any] = []
    offset = 0
    while True:
        page = api.collection_items(layer_id, limit=PAGE, offset=offset)
        assert page["numberMatched"] == expected
        seen += [f["id"] for f in page["features"]]
        offset += page["numberReturned"]
        if page["numberReturned"] < PAGE:
            break
    assert len(seen) == expected
    assert len(set(seen)) == expected, "an id was served twice"
    column, value = next(iter(TEXT[layer_id].items()))
    fid = next(f["id"] for f in _features(demo_url, layer_id)["features"]
               if f["properties"][column] == value)
    assert api.collection_item(layer_id, str(fid))["properties"][column] == value


def _national_crs(bbox: list[float]) -> int:
    for code in NATIONAL_CRS:
        area = CRS.from_epsg(code).area_of_use
        assert area is not None
        west, south, east, north = (area.west - AREA_TOLERANCE_DEG,
                                    area.south - AREA_TOLERANCE_DEG,
                                    area.east + AREA_TOLERANCE_DEG,
                                    area.north + AREA_TOLERANCE_DEG)
        if west <= bbox[0] and bbox[2] <= east and south <= bbox[1] and bbox[3] <= north:
            return code
    raise AssertionError(f"bbox {bbox} lies in none of EPSG:{NATIONAL_CRS}")


@pytest.mark.parametrize("layer_id", VECTOR_IDS)
def test_national_crs_output_matches_pyproj(demo_url: str, collections: dict[str, Any],
                                            layer_id: str) -> None:
    collection = collections[layer_id]
    code = _national_crs(collection["extent"]["spatial"]["bbox"][0])
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
    assert uri in collection["crs"]
    lonlat = _features(demo_url, layer_id)
    national = _features(demo_url, layer_id, uri)
    assert national["content_crs"] == f"<{uri}>"
    assert lonlat["numberReturned"] == national["numberReturned"] == \
        collection["numberOfFeatures"]
    assert [f["id"] for f in lonlat["features"]] == [f["id"] for f in national["features"]]
    # authority axis order: EPSG:3067 easting first, EPSG:3006 northing first
    to_national = Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")
    source = shapely.get_coordinates(
        [shapely.geometry.shape(f["geometry"]) for f in lonlat["features"]])
    expected = np.column_stack(to_national.transform(source[:, 0], source[:, 1]))
    got = shapely.get_coordinates(
        [shapely.geometry.shape(f["geometry"]) for f in national["features"]])
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 0.01
    first_axis = got[:, 0]
    if code == 3006:
        assert (first_axis > 6_000_000).all(), "EPSG:3006 is northing first"
    else:
        assert (first_axis < 1_000_000).all(), "EPSG:3067 is easting first"


def _tile_at_centre(demo_url: str, layer_id: str, grid_id: str
                    ) -> tuple[morecantile.Tile, morecantile.TileMatrixSet]:
    """The tile at the raster's centre at the deepest zoom where it lies within 2 × 2 tiles
    (one level deeper it spans three or more: it fills a good part of the centre tile)."""
    base = f"{demo_url}/collections/{layer_id}/tiles/{grid_id}"
    tileset = requests.get(base, timeout=30).json()
    tms = morecantile.TileMatrixSet.model_validate(
        requests.get(f"{demo_url}/tileMatrixSets/{grid_id}", timeout=30).json())
    zoom = max(int(lim["tileMatrix"]) for lim in tileset["tileMatrixSetLimits"]
               if lim["maxTileRow"] - lim["minTileRow"] <= 1
               and lim["maxTileCol"] - lim["minTileCol"] <= 1)
    west, south, east, north = tileset["boundingBox"]["lowerLeft"] + \
        tileset["boundingBox"]["upperRight"]
    return tms.tile((west + east) / 2, (south + north) / 2, zoom), tms


@pytest.mark.parametrize("layer_id", RASTER_IDS)
def test_raster_tile_at_centre_is_not_blank(demo_url: str, layer_id: str) -> None:
    tilesets = requests.get(f"{demo_url}/collections/{layer_id}/tiles", timeout=30).json()
    grids = [ts["links"][0]["href"].split("/tiles/")[1].split("?")[0]
             for ts in tilesets["tilesets"]]
    assert "WebMercatorQuad" in grids and "ETRS-TM35FIN" in grids, grids
    for grid_id in grids:
        tile, _ = _tile_at_centre(demo_url, layer_id, grid_id)
        response = requests.get(f"{demo_url}/collections/{layer_id}/tiles/{grid_id}/"
                                f"{tile.z}/{tile.y}/{tile.x}", timeout=30)
        assert response.status_code == 200, (grid_id, tile, response.text[:300])
        assert response.headers["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        image.load()
        pixels = np.asarray(image.convert("RGBA"))
        opaque = pixels[..., 3] > 0
        assert opaque.mean() > 0.1, f"{grid_id} {tile}: almost nothing drawn"
        colours = np.unique(pixels[opaque][:, :3], axis=0)
        assert len(colours) > 1, f"{grid_id} {tile}: one flat colour"

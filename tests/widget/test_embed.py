"""The widget page without a browser: CSP, local assets only, folium's parts, translations."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pytest
import shapely

from tests.conftest import ROOT, assert_problem
from webmap.i18n import LANGUAGES, catalogue
from webmap.types import ImportReport, LayerKind, NormalisedLayer

MAP = {"id": "kaava", "title": {"fi": "Kaava <b>", "sv": "Plan", "en": "Plan"},
       "extent": [22.67, 60.45, 22.70, 60.46], "tile_matrix_set": "ETRS-TM35FIN",
       "base": {"type": "rendered", "basemap": "finland"},
       "origins": ["https://e-palvelu.example.fi", "https://kunta.example.fi"],
       "consultation": {"geometry": ["point", "feature"]}}
MERCATOR = {**MAP, "id": "merc", "tile_matrix_set": "WebMercatorQuad", "origins": [],
            "languages": ["sv", "en"]}


@pytest.fixture
def client(write_map: Callable[[dict[str, Any]], Path],
           make_widget_app: Callable[[], Any]) -> Any:
    """A test client over two maps: one in ETRS-TM35FIN, one in Web Mercator."""
    write_map(MAP)
    write_map(MERCATOR)
    return make_widget_app().test_client()


def _csp(response: Any) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:])
            for part in policy.split(";") if part.strip()}


def test_only_the_maps_origins_may_frame_it(client: Any) -> None:
    csp = _csp(client.get("/embed/kaava"))
    assert csp["frame-ancestors"] == "'self' https://e-palvelu.example.fi https://kunta.example.fi"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert "unsafe" not in " ".join(csp.values())
    assert _csp(client.get("/embed/merc"))["frame-ancestors"] == "'self'"


def test_page_language_follows_lang_and_falls_back_to_the_first(client: Any) -> None:
    assert '<html lang="sv">' in client.get("/embed/kaava?lang=sv").get_data(as_text=True)
    assert '<html lang="sv">' in client.get("/embed/merc?lang=fi").get_data(as_text=True)
    assert '<html lang="sv">' in client.get("/embed/merc").get_data(as_text=True)
    page = client.get("/embed/kaava?lang=fi").get_data(as_text=True)
    assert "Kaava &lt;b&gt;" in page and "Kaava <b>" not in page


def test_everything_the_page_loads_is_local_and_answers(client: Any) -> None:
    page = client.get("/embed/kaava?lang=fi").get_data(as_text=True)
    assert "user-scalable" not in page and "maximum-scale" not in page
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))]
    for url in urls:
        if url.startswith(("#", "data:")):
            continue
        local = "/" + url.removeprefix("../") if url.startswith("../") else f"/embed/{url}"
        response = client.get(local.replace("&amp;", "&"))
        assert response.status_code == 200, url
    assert any("proj4leaflet" in u for u in urls)  # a national grid needs Proj4Leaflet
    mercator = client.get("/embed/merc").get_data(as_text=True)
    assert "proj4" not in mercator


def test_folium_cdn_links_are_replaced(client: Any) -> None:
    links = [url for _, url in [*folium.Map.default_js, *folium.Map.default_css]]
    assert links and all(url.startswith("../static/vendor/") for url in links)


def test_map_script_builds_the_national_grid_crs(client: Any) -> None:
    page = client.get("/embed/kaava?lang=fi").get_data(as_text=True)
    src = re.search(r'<script src="(kaava/map\.js[^"]+)"', page)
    assert src is not None
    script = client.get("/embed/" + src.group(1).replace("&amp;", "&"))
    assert script.mimetype == "text/javascript"
    assert "immutable" in script.headers["Cache-Control"]
    body = script.get_data(as_text=True)
    assert 'new L.Proj.CRS("EPSG:3067"' in body and "8192.0" in body
    # finland draws the municipalities layer, not imported here: no tiles of an empty sea
    assert "../basemaps/finland/tiles" not in body
    assert "http" not in body
    merc = client.get("/embed/merc/map.js").get_data(as_text=True)
    assert "L.CRS.EPSG3857" in merc


def test_the_base_is_drawn_once_its_layers_are_there(client: Any) -> None:
    from webmap.services import services_of

    app = client.application
    frame = gpd.GeoDataFrame({"namefin": ["Paimio"]},
                             geometry=[shapely.box(22.5, 60.3, 22.9, 60.6)], crs="OGC:CRS84")
    store = services_of(app).layers
    report = ImportReport(layer_id="municipalities", kind=LayerKind.VECTOR,
                          title="municipalities", feature_count=1, source_crs="EPSG:3067",
                          bbox=(22.5, 60.3, 22.9, 60.6), geometry_type="Polygon")
    store.import_layer("municipalities",
                       lambda _: NormalisedLayer(report=report, frame=frame))
    body = client.get("/embed/kaava/map.js").get_data(as_text=True)
    assert "../basemaps/finland/tiles/ETRS-TM35FIN/{z}/{y}/{x}.png" in body


def test_config_block_carries_the_map_and_every_string(client: Any) -> None:
    page = client.get("/embed/kaava?lang=sv").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="wm-config">(.*?)</script>', page,
                      re.S)
    assert block is not None
    config = json.loads(block.group(1))
    assert config["map"] == "kaava" and config["lang"] == "sv"
    assert config["origins"] == MAP["origins"]
    assert set(config["strings"]) == {"fi", "sv", "en"}
    assert config["consultation"]["geometry"] == ["point", "feature"]
    assert "<b>" not in block.group(1)  # HTML-escaped inside the script element


def test_unknown_map_and_vendor_files(client: Any) -> None:
    assert_problem(client.get("/embed/nothing"), 404, mentions="nothing")
    assert_problem(client.get("/embed/nothing/map.js"), 404)
    assert client.get("/static/vendor/leaflet/1.9.3/leaflet.js").status_code == 200
    assert_problem(client.get("/static/vendor/leaflet/0.7/leaflet.js"), 404)
    assert_problem(client.get("/static/vendor/leaflet/1.9.3/../../../../etc/passwd"), 404)
    assert_problem(client.get("/static/vendor/jquery/3.7.1/jquery.js"), 404)


def test_translations_have_the_same_keys_and_placeholders() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    english = catalogue("en")
    for lang in LANGUAGES:
        strings = catalogue(lang)
        assert set(strings) == set(english), lang
        for key, text in strings.items():
            assert text.strip(), (lang, key)
            assert fields(text) == fields(english[key]), (lang, key)


def test_every_data_i18n_key_exists() -> None:
    keys = set(catalogue("en"))
    template = (ROOT / "webmap" / "widget" / "templates" / "embed.html").read_text()
    script = (ROOT / "webmap" / "widget" / "static" / "widget.js").read_text()
    used = set(re.findall(r"data-i18n(?:-aria-label|-title)?=\"([a-z_]+)\"", template))
    used |= set(re.findall(r"\btr\(\"([a-z_]+)\"", script))
    used |= set(re.findall(r"\bt\('([a-z_]+)'", template))
    used.discard("lang_")  # t('lang_' + code, …): lang_fi, lang_sv, lang_en
    assert {"lang_fi", "lang_sv", "lang_en"} <= keys
    assert used and used <= keys, used - keys


def test_the_form_is_offered_only_while_the_consultation_is_open(
        write_map: Callable[[dict[str, Any]], Path], make_widget_app: Callable[[], Any]) -> None:
    write_map({**MAP, "id": "auki", "consultation": {"geometry": ["point"]}})
    write_map({**MAP, "id": "kiinni", "consultation": {"opens": "2020-01-01",
                                                      "closes": "2020-02-01"}})
    write_map({**MAP, "id": "ei", "consultation": None})
    client = make_widget_app().test_client()
    open_page = client.get("/embed/auki?lang=fi").get_data(as_text=True)
    assert 'id="wm-form"' in open_page and "comment.js" in open_page
    assert 'autocomplete="off"' in open_page and 'name="website"' in open_page  # honeypot
    closed = client.get("/embed/kiinni?lang=fi").get_data(as_text=True)
    assert 'id="wm-form"' not in closed
    assert "Tämän kartan kommentointi ei ole auki." in closed
    none = client.get("/embed/ei").get_data(as_text=True)
    assert "wm-comment" not in none and "comment.js" not in none


def test_an_external_xyz_base_map_is_the_only_other_host_allowed(
        write_map: Callable[[dict[str, Any]], Path], make_widget_app: Callable[[], Any]) -> None:
    write_map({**MERCATOR, "id": "xyz", "base": {
        "type": "xyz", "url": "https://tiles.kunta.example.fi/base/{z}/{x}/{y}.png",
        "attribution": "© Kunta", "palette": ["#f2efe9"]}})
    client = make_widget_app().test_client()
    csp = _csp(client.get("/embed/xyz"))
    assert csp["img-src"] == "'self' data: https://tiles.kunta.example.fi"
    assert csp["connect-src"] == "'self'" and csp["script-src"] == "'self'"
    script = client.get("/embed/xyz/map.js").get_data(as_text=True)
    assert '"https://tiles.kunta.example.fi/base/{z}/{x}/{y}.png"' in script
    assert '"attribution": "\\u00a9 Kunta"' in script  # folium escapes non-ASCII

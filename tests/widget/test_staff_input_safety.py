"""Staff input that reaches the page: base-map URLs are checked and the CSP is built from the
parsed host alone; attributions reach Leaflet as text with plain http(s) links only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webmap.maps import MapDefinition
from webmap.maps.model import BaseMap
from webmap.maps.safety import UnsafeUrl, check_tile_url, csp_source, safe_attribution
from webmap.maps.schema import MapDefinitionError, parse_map
from webmap.widget.build import build_map

MAP = {"id": "xyz", "title": {"en": "Plan"}, "extent": [22.67, 60.45, 22.70, 60.46],
       "tile_matrix_set": "WebMercatorQuad", "languages": ["en"], "origins": [],
       "base": {"type": "xyz", "url": "https://tiles.example.fi/{z}/{x}/{y}.png",
                "attribution": "© Kunta"}}


@pytest.mark.parametrize("url", [
    "https://tiles.example.fi;frame-ancestors */{z}/{x}/{y}.png",
    "https://tiles.example.fi/{z}/{x}/{y}.png;frame-ancestors *",
    "https://tiles.example.fi/{z}/{x}/{y}.png frame-ancestors *",
    "https://tiles.example.fi/{z}/{x}/{y}.png'",
    "http://tiles.example.fi/{z}/{x}/{y}.png",
    "javascript:alert(1)//{z}/{x}/{y}",
    "https://user:pw@tiles.example.fi/{z}/{x}/{y}.png",
    "https://tiles.example.fi/{z}/{x}.png",
    "https://tiles.example.fi/{z}/{x}/{y}.png#x",
    "https://*/{z}/{x}/{y}.png",
    "https://tiles.example.fi:99999/{z}/{x}/{y}.png",
    "https://tiles.example.fi/{z}/{x}/{y}\r\n.png",
])
def test_unsafe_base_map_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_tile_url(url)
    assert csp_source(url) == ""
    with pytest.raises(MapDefinitionError):
        parse_map({**MAP, "base": {**MAP["base"], "url": url}})


def test_good_templates_pass_and_give_a_host_only_source() -> None:
    assert csp_source("https://{s}.tile.example.org/{z}/{x}/{y}.png?key=a-b_c") \
        == "https://*.tile.example.org"
    assert csp_source("https://Tiles.Example.fi:8443/wmts/{z}/{y}/{x}.png") \
        == "https://tiles.example.fi:8443"


def test_the_embed_csp_names_only_the_host(write_map: Callable[[dict[str, Any]], Path],
                                           make_widget_app: Callable[[], Any]) -> None:
    write_map(MAP)
    client = make_widget_app().test_client()
    policy = client.get("/embed/xyz").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tiles.example.fi;" in policy
    assert policy.count("frame-ancestors") == 1 and "*" not in policy


@pytest.mark.parametrize(("given", "expected"), [
    ('<meta http-equiv="refresh" content="0;url=https://evil.example">© Kunta', "© Kunta"),
    ('<img src=x onerror=alert(1)>OSM', "OSM"),
    ('<script>alert(1)</script>© NLS', "© NLS"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ('&copy; <b>Kunta</b> &lt;3', "© Kunta &lt;3"),
    ('<a href="https://www.maanmittauslaitos.fi/" onclick="x()">MML</a>',
     '<a href="https://www.maanmittauslaitos.fi/" rel="noopener noreferrer" '
     'target="_blank">MML</a>'),
    ('<a href="https://a.example/?q=1&x=2">A', '<a href="https://a.example/?q=1&amp;x=2" '
     'rel="noopener noreferrer" target="_blank">A</a>'),
])
def test_attributions_become_text_with_plain_links(given: str, expected: str) -> None:
    assert safe_attribution(given) == expected


def test_widget_and_staff_preview_scripts_carry_no_markup_from_attributions() -> None:
    """Both the public widget and the staff preview build their Leaflet script here."""
    hostile = '<meta http-equiv="refresh" content="0;url=https://evil.example">© Kunta'
    definition = MapDefinition(id="evil", title={"en": "x"}, extent=(22.6, 60.4, 22.7, 60.5),
                               languages=("en",), version="1",
                               base=BaseMap(kind="xyz", attribution=hostile,
                                            url="https://tiles.example.fi/{z}/{x}/{y}.png"))
    for extra in ("", hostile):  # the base's own, and one handed in (a drawn base map's)
        script = build_map(definition, "en", extra).script
        assert "<meta" not in script and "evil.example" not in script
        options = [json.loads(line.split(":", 1)[1].rstrip(","))
                   for line in script.splitlines() if '"attribution"' in line]
        assert options and all(o == "\u00a9 Kunta" for o in options)

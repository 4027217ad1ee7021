"""The HTML pages of the Features API in a real browser: axe-core, reflow, requests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import LiveServer, make_buildings

pytestmark = pytest.mark.browser

PAGES = ["/", "/collections", "/collections/buildings",
         "/collections/buildings/items?limit=20", "/collections/buildings/items/3",
         "/conformance", "/api.html"]


@pytest.fixture
def site(add_layer: Any, live_server: LiveServer) -> str:
    """A live server with one layer whose attribute names and values are Finnish."""
    add_layer("buildings", make_buildings(60), title="Rakennukset – Hämeenkatu")
    return live_server.url


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (320, 640)])
def test_pages_have_no_axe_violations_and_reflow(chromium: Any, site: str, width: int,
                                                 height: int) -> None:
    # axe-core is injected as an inline script, which webmap's CSP rightly blocks
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   bypass_csp=True)
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(site)
            and not r.url.startswith("data:") else None)
    for path in PAGES:
        page.goto(site + path + ("&" if "?" in path else "?") + "f=html")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert axe_violations(page) == [], path
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        name = path.strip("/").replace("/", "_").split("?")[0] or "landing"
        screenshot(page, f"html-{name}-{width}")
    assert foreign == []
    context.close()


def test_keyboard_reaches_every_link_with_visible_focus(chromium: Any, site: str) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.goto(site + "/collections/buildings/items?limit=5&f=html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break  # past the last link
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        seen.append(page.evaluate("document.activeElement.textContent.trim()"))
        assert outline != "none", seen[-1]
    # from the skip link: the table region, the five features, the next page
    assert seen[1:6] == ["1", "2", "3", "4", "5"]
    assert "Next page" in seen
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (320, 640)])
def test_the_map_page_shows_the_widget_in_a_usable_frame(chromium: Any, live_server: LiveServer,
                                                         width: int, height: int) -> None:
    page = chromium.new_page(viewport={"width": width, "height": height})
    page.goto(live_server.url + "/maps/helsinki-keskusta?f=html")
    box = page.locator("iframe.wm-preview").bounding_box()
    assert box is not None
    assert box["width"] >= min(width - 40, 1100), box
    assert box["height"] >= min(0.8 * height, 384), box
    page.close()

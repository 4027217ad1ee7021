"""Drawing a line or an area in the widget, in Chromium: by keyboard alone with the crosshair,
by tapping on a touch screen, with each step announced, and the shape stored as drawn."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.widgets import PLAN_MAP, Site, open_page, wait_until

pytestmark = pytest.mark.browser


STATUS = "document.getElementById('wm-status').textContent"
CHOSEN = "document.getElementById('wm-chosen-text').textContent"

def _stored(site: Site, reference: str) -> dict[str, Any]:
    out = site.data_dir.parent / f"drawn-{reference}.geojson"
    site.cli("comments", "export", PLAN_MAP, "--format", "geojson", "--output", str(out))
    found = [f for f in json.loads(out.read_text(encoding="utf-8"))["features"]
             if f["properties"]["id"] == reference]
    assert len(found) == 1
    return found[0]


def _status(page: Any) -> str:
    wait_until(page.main_frame, "document.getElementById('wm-status').textContent.length > 0")
    return str(page.evaluate("document.getElementById('wm-status').textContent"))


def _send(page: Any, text: str) -> str:
    page.fill("#wm-text", text)
    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-receipt:not([hidden])")
    return str(page.evaluate("document.getElementById('wm-receipt-id').textContent"))


def test_a_line_by_keyboard_alone(chromium: Any, widget_site: Site) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=en")
    start = page.evaluate("webmapMap.getZoom()")
    page.locator('[data-action="zoom-in"]').focus()
    for step in range(1, 4):
        page.keyboard.press("Enter")  # the widget's own zoom button
        wait_until(page.main_frame, f"webmapMap.getZoom() >= "
                                    f"Math.min({start + step}, webmapMap.getMaxZoom())")
        page.wait_for_timeout(400)  # the zoom animation ends
    page.locator("#wm-draw-line").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "wm-draw-add"
    assert "Drawing a line" in _status(page)
    assert axe_violations(page) == [], "drawing panel"
    centres = []
    for step in range(3):
        page.keyboard.press("Enter")  # "Add point" at the crosshair
        centres.append(page.evaluate("[webmapMap.getCenter().lng, webmapMap.getCenter().lat]"))
        wait_until(page.main_frame, STATUS + ".includes("
                         f"'Point {step + 1} added')")
        page.locator(".wm-mapwrap .leaflet-container").focus()
        page.keyboard.press("ArrowRight")  # pan under the crosshair
        page.wait_for_timeout(400)  # the pan animation, not a timing assumption
        page.locator("#wm-draw-add").focus()
    assert " m" in _status(page)  # "Point 3 added. Line 412 m."
    page.locator(".wm-mapwrap .leaflet-container").focus()
    page.keyboard.press("a")  # the documented key adds a fourth point
    wait_until(page.main_frame, STATUS + ".includes('Point 4')")
    page.keyboard.press("Backspace")
    wait_until(page.main_frame, STATUS + ".includes('removed')")
    page.keyboard.press("Enter")  # finish
    wait_until(page.main_frame, CHOSEN + ".includes('line')")
    assert page.evaluate("document.activeElement.id") == "wm-draw-line"
    assert page.is_hidden("#wm-draw")
    reference = _send(page, "Kevyen liikenteen reitti tähän.")
    stored = _stored(widget_site, reference)
    assert stored["geometry"]["type"] == "LineString"
    drawn = stored["geometry"]["coordinates"]
    assert len(drawn) == 3
    for (x, y), (cx, cy) in zip(drawn, centres, strict=True):
        assert abs(x - cx) < 1e-6 and abs(y - cy) < 1e-6
    context.close()


@pytest.mark.parametrize("width", [320, 1280])
def test_an_area_by_tapping(chromium: Any, widget_site: Site, width: int) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=fi",
                                 width=width, height=900, has_touch=True, is_mobile=width < 400)
    start = page.evaluate("webmapMap.getZoom()")
    for step in range(1, 5):
        page.locator('[data-action="zoom-in"]').tap()
        wait_until(page.main_frame, f"webmapMap.getZoom() >= "
                                    f"Math.min({start + step}, webmapMap.getMaxZoom())")
        page.wait_for_timeout(400)  # the zoom animation ends
    page.locator("#wm-draw-area").tap()
    page.locator(".wm-mapwrap .leaflet-container").scroll_into_view_if_needed()
    box = page.locator(".wm-mapwrap .leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    d = min(box["width"], box["height"]) / 5
    for n, (dx, dy) in enumerate([(-d, -d), (d, -d), (d, d), (-d, d)], start=1):
        page.touchscreen.tap(cx + dx, cy + dy)
        wait_until(page.main_frame, STATUS + ".includes("
                         f"'Piste {n} lisätty')")
    assert "Alue" in _status(page)
    screenshot(page, f"drawing-area-fi-{width}")
    page.locator("#wm-draw-finish").tap()
    wait_until(page.main_frame, CHOSEN + ".includes('alue')")
    assert axe_violations(page) == [], "area chosen"
    reference = _send(page, "Tämä metsäalue säilytettävä.")
    stored = _stored(widget_site, reference)
    assert stored["geometry"]["type"] == "Polygon"
    ring = stored["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    context.close()


def test_a_crossing_area_is_refused_with_the_edges_named(chromium: Any,
                                                         widget_site: Site) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=en")
    start = page.evaluate("webmapMap.getZoom()")
    for step in range(1, 4):
        page.locator('[data-action="zoom-in"]').click()
        wait_until(page.main_frame, f"webmapMap.getZoom() >= "
                                    f"Math.min({start + step}, webmapMap.getMaxZoom())")
        page.wait_for_timeout(400)  # the zoom animation ends
    page.locator("#wm-draw-area").click()
    page.locator(".wm-mapwrap .leaflet-container").scroll_into_view_if_needed()
    box = page.locator(".wm-mapwrap .leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for n, (dx, dy) in enumerate([(-25, -25), (25, 25), (25, -25), (-25, 25)], start=1):
        page.mouse.click(cx + dx, cy + dy)  # a bow tie
        wait_until(page.main_frame, f"window.webmapDraw.points.length === {n}")
    wait_until(page.main_frame, STATUS + ".includes('Point 4')")
    page.locator("#wm-draw-finish").click()
    wait_until(page.main_frame, STATUS + ".includes('cross')")
    assert "edges 1 and 3 cross" in _status(page)
    assert page.is_visible("#wm-draw")  # still drawing: nothing was lost
    page.keyboard.press("Escape")
    wait_until(page.main_frame, STATUS + ".includes('cancelled')")
    assert page.evaluate("document.activeElement.id") == "wm-draw-area"
    context.close()

"""Editing a drawn shape point by point in Chromium, by keyboard alone: step through the
points, move one with the arrow keys or to the crosshair, delete one, delete the shape, and
the stored geometry is exactly the edited one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_drawing import CHOSEN, STATUS, _send, _status, _stored
from tests.browser.widgets import PLAN_MAP, Site, open_page, wait_until

pytestmark = pytest.mark.browser

POINTS = "window.webmapDraw.points.map(p => [p.lng, p.lat])"


def _zoom_in(page: Any, steps: int = 3) -> None:
    start = page.evaluate("webmapMap.getZoom()")
    page.locator('[data-action="zoom-in"]').focus()
    for step in range(1, steps + 1):
        page.keyboard.press("Enter")
        wait_until(page.main_frame, f"webmapMap.getZoom() >= "
                                    f"Math.min({start + step}, webmapMap.getMaxZoom())")
        page.wait_for_timeout(400)  # the zoom animation ends


def _map(page: Any) -> None:
    page.locator(".wm-mapwrap .leaflet-container").focus()


def _draw_by_keys(page: Any, kind: str, pans: list[str]) -> None:
    """Start a shape and add a point at the crosshair, then pan, for each key in ``pans``."""
    page.locator(f"#wm-draw-{kind}").focus()
    page.keyboard.press("Enter")
    _map(page)
    for n, key in enumerate(pans, start=1):
        page.keyboard.press("a")
        wait_until(page.main_frame, f"window.webmapDraw.points.length === {n}")
        page.keyboard.press(key)  # nothing selected: the arrow keys pan the map
        page.wait_for_timeout(400)  # the pan animation


def test_edit_move_and_delete_points_by_keyboard(chromium: Any, widget_site: Site) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=en")
    _zoom_in(page)
    _draw_by_keys(page, "line", ["ArrowRight", "ArrowDown", "ArrowRight", "ArrowUp", "ArrowRight"])
    drawn = page.evaluate(POINTS)
    assert len(drawn) == 5
    page.keyboard.press(".")
    page.keyboard.press(".")
    wait_until(page.main_frame, STATUS + ".includes('Point 2 of 5 selected')")
    assert page.evaluate("window.webmapDraw.selected") == 1
    assert page.locator(".wm-vertex-selected").count() == 1
    before = page.evaluate("webmapMap.getCenter().lng")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_until(page.main_frame, STATUS + ".includes('Point 2 moved')")
    assert "Line" in _status(page)
    page.wait_for_timeout(300)
    assert page.evaluate("webmapMap.getCenter().lng") == before  # the point moved, not the map
    moved = page.evaluate(POINTS)
    # east on the screen (ETRS-TM35FIN's grid east is a little off true east here)
    assert moved[1][0] - drawn[1][0] > 10 * abs(moved[1][1] - drawn[1][1])
    assert moved[0] == drawn[0] and moved[2:] == drawn[2:]
    # "]" selects point 3, Delete removes it; focus stays on the map
    page.keyboard.press("]")
    wait_until(page.main_frame, STATUS + ".includes('Point 3 of 5 selected')")
    page.keyboard.press("Delete")
    wait_until(page.main_frame, STATUS + ".includes('Point 3 deleted. 4 points')")
    assert page.evaluate("document.activeElement.id") == "wm-map"
    # point 4 (the old fifth) to the crosshair with the "Move here" button
    page.keyboard.press(".")
    wait_until(page.main_frame, STATUS + ".includes('Point 4 of 4 selected')")
    page.keyboard.press("Escape")  # unselect: the arrow keys pan again
    wait_until(page.main_frame, STATUS + ".includes('No point selected')")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(400)
    page.keyboard.press(",")  # from no selection, "," selects the last point
    wait_until(page.main_frame, STATUS + ".includes('Point 4 of 4 selected')")
    page.locator("#wm-draw-move").focus()
    assert axe_violations(page) == [], "editing a point"
    screenshot(page, "drawing-edit-en-1280")
    page.keyboard.press("Enter")
    wait_until(page.main_frame, STATUS + ".includes('Point 4 moved')")
    assert page.evaluate("document.activeElement.id") == "wm-draw-move"
    centre = page.evaluate("[webmapMap.getCenter().lng, webmapMap.getCenter().lat]")
    edited = page.evaluate(POINTS)
    assert edited == [moved[0], moved[1], moved[3], centre]
    _map(page)
    page.keyboard.press("Escape")  # unselect
    page.keyboard.press("Enter")  # finish
    wait_until(page.main_frame, CHOSEN + ".includes('line')")
    assert page.evaluate("document.activeElement.id") == "wm-draw-line"
    reference = _send(page, "Reitti kulkee näin.")
    stored = _stored(widget_site, reference)["geometry"]
    assert stored["type"] == "LineString"
    assert len(stored["coordinates"]) == 4
    for (x, y), (ex, ey) in zip(stored["coordinates"], edited, strict=True):
        assert abs(x - ex) < 1e-6 and abs(y - ey) < 1e-6
    context.close()


def test_a_finished_area_is_edited_again_and_deleted(chromium: Any, widget_site: Site) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=en",
                                 width=320, height=900)
    _zoom_in(page)
    _draw_by_keys(page, "area", ["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"])
    page.keyboard.press("Enter")
    wait_until(page.main_frame, CHOSEN + ".includes('area')")
    first = page.evaluate("JSON.stringify(webmapWidget.chosen.geometry)")
    page.locator("#wm-edit-shape").focus()
    page.keyboard.press("Enter")
    wait_until(page.main_frame, STATUS + ".includes('Editing an area, 4 points')")
    assert page.evaluate("document.activeElement.id") == "wm-draw-next"
    page.keyboard.press("Enter")  # "Next point" selects point 1
    wait_until(page.main_frame, STATUS + ".includes('Point 1 of 4 selected')")
    page.locator("#wm-draw-delete-point").focus()
    assert axe_violations(page) == [], "editing a finished area at 320 px"
    screenshot(page, "drawing-edit-en-320")
    page.keyboard.press("Enter")
    wait_until(page.main_frame, STATUS + ".includes('Point 1 deleted. 3 points')")
    assert page.evaluate("document.activeElement.id") == "wm-draw-delete-point"
    page.keyboard.press("Escape")  # unselect
    page.keyboard.press("Escape")  # cancel the edit: the area is as it was
    wait_until(page.main_frame, STATUS + ".includes('Editing cancelled')")
    assert page.evaluate("JSON.stringify(webmapWidget.chosen.geometry)") == first
    assert page.evaluate("document.activeElement.id") == "wm-edit-shape"
    page.locator("#wm-delete-chosen-shape").focus()
    page.keyboard.press("Enter")
    wait_until(page.main_frame, STATUS + ".includes('Shape deleted')")
    assert page.evaluate("webmapWidget.chosen") is None
    assert page.evaluate("document.activeElement.id") == "wm-draw-area"
    assert page.is_hidden("#wm-edit-shape")
    context.close()

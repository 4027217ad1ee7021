"""Attaching photos to a comment in the widget, in Chromium, by keyboard alone: the file input,
a required description per photo, thumbnails with that description as alt text, remove buttons,
errors announced; axe finds nothing at any step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.widgets import PLAN_MAP, Site, open_page, wait_until

pytestmark = pytest.mark.browser

STATUS = "document.getElementById('wm-status').textContent"


def _png(path: Path, colour: str) -> Path:
    image = Image.new("RGB", (320, 240), "white")
    ImageDraw.Draw(image).rectangle((40, 40, 280, 200), fill=colour)
    image.save(path, format="PNG")
    return path


def _choose_file(page: Any, path: Path) -> None:
    """Open the file chooser from the focused input with the keyboard, and pick ``path``."""
    page.locator("#wm-photo-input").focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(path))


def _active(page: Any) -> str:
    return str(page.evaluate("document.activeElement.id"))


def _box(page: Any, selector: str) -> dict[str, float]:
    box: dict[str, float] = page.locator(selector).bounding_box()
    return box


def test_a_photo_attached_and_described_by_keyboard(chromium: Any, widget_site: Site,
                                                    tmp_path: Path) -> None:
    sign = _png(tmp_path / "kyltti.png", "#c62828")
    other = _png(tmp_path / "puisto.png", "#2e7d32")
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=en")
    page.locator("#wm-choose-centre").focus()
    page.keyboard.press("Enter")
    page.locator("#wm-text").focus()
    page.keyboard.type("The sign at the park gate is broken.")
    hint = page.evaluate("document.getElementById('wm-photo-hint').textContent")
    assert "At most 3 photos" in hint and "10 MB" in hint

    _choose_file(page, sign)
    wait_until(page.main_frame, "document.getElementById('wm-photo-alt-1') !== null")
    assert _active(page) == "wm-photo-alt-1", "focus moves to the new photo's description"
    wait_until(page.main_frame, STATUS + ".includes('Photo 1 added: kyltti.png')")
    thumbnail = page.locator(".wm-photo-item img").first
    assert thumbnail.get_attribute("alt") == "Photo 1, not described yet"
    assert page.evaluate("document.querySelector('.wm-photo-item img').naturalWidth") == 320
    assert page.locator("label[for='wm-photo-alt-1']").inner_text() == (
        "Description of photo 1 (required)")
    assert axe_violations(page) == [], "a photo without a description"

    # Sending without a description: the error is listed, tied to the field and announced.
    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    wait_until(page.main_frame, "!document.getElementById('wm-errors').hidden")
    assert _active(page) == "wm-errors"
    wait_until(page.main_frame, STATUS + ".includes('Describe photo 1.')")
    assert page.get_attribute("#wm-photo-alt-1", "aria-invalid") == "true"
    assert "wm-photo-alt-1-error" in page.get_attribute("#wm-photo-alt-1", "aria-describedby")
    assert axe_violations(page) == [], "the description error"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the error's link leads to the description
    assert _active(page) == "wm-photo-alt-1"
    page.keyboard.type("Red sign with a broken corner")
    assert thumbnail.get_attribute("alt") == "Photo 1: Red sign with a broken corner"
    assert page.get_attribute("#wm-photo-alt-1", "aria-invalid") is None

    # A second photo, removed again with its button; focus stays in the list.
    _choose_file(page, other)
    wait_until(page.main_frame, "document.getElementById('wm-photo-alt-2') !== null")
    page.keyboard.type("Green park")
    for selector in ("#wm-photo-remove-2", "#wm-photo-input"):
        box = _box(page, selector)
        assert box["height"] >= 44 and box["width"] >= 44, selector
    screenshot(page, "photos-two")
    assert axe_violations(page) == [], "two photos described"
    page.locator("#wm-photo-remove-2").focus()
    page.keyboard.press("Enter")
    wait_until(page.main_frame, STATUS + ".includes('Photo 2 removed.')")
    assert _active(page) == "wm-photo-remove-1"
    assert page.locator(".wm-photo-item").count() == 1

    # At 320 px wide the photo list still passes.
    page.set_viewport_size({"width": 320, "height": 800})
    assert axe_violations(page) == [], "320 px"
    page.set_viewport_size({"width": 1280, "height": 800})

    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-receipt:not([hidden])")
    reference = page.evaluate("document.getElementById('wm-receipt-id').textContent")
    assert axe_violations(page) == [], "receipt"

    out = widget_site.data_dir.parent / f"photos-{reference}.geojson"
    widget_site.cli("comments", "export", PLAN_MAP, "--format", "geojson", "--output", str(out))
    (stored,) = [f for f in json.loads(out.read_text(encoding="utf-8"))["features"]
                 if f["id"] == reference]
    assert [(p["alt"], p["width"], p["height"]) for p in stored["properties"]["photos"]] == [
        ("Red sign with a broken corner", 320, 240)]
    pending = page.request.get(f"{widget_site.url}/maps/{PLAN_MAP}/comments/{reference}/photos/1")
    assert pending.status == 404, "not public before it is published"

    # "Send another" starts with no photos.
    page.locator("#wm-another").focus()
    page.keyboard.press("Enter")
    assert page.locator(".wm-photo-item").count() == 0

    # Once staff publish it, the widget's list of comments shows the photo with its description.
    token = widget_site.cli("tokens", "create", "photo-test").strip().splitlines()[-1]
    published = page.request.patch(f"{widget_site.url}/admin/api/comments/{reference}",
                                   data=json.dumps({"status": "published"}),
                                   headers={"Authorization": f"Bearer {token}",
                                            "Content-Type": "application/json"})
    assert published.ok, published.text()
    page.reload()
    page.wait_for_selector("html[data-ready]")
    shown = page.locator("#wm-published img[alt='Red sign with a broken corner']")
    shown.scroll_into_view_if_needed()
    wait_until(page.main_frame, "[...document.querySelectorAll('#wm-published img')]"
                                ".some(i => i.complete && i.naturalWidth === 320)")
    context.close()


def test_a_file_that_is_not_a_picture_is_refused_in_the_form(chromium: Any, widget_site: Site,
                                                             tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo", encoding="utf-8")
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=fi")
    _choose_file(page, notes)
    wait_until(page.main_frame, "!document.getElementById('wm-photo-error').hidden")
    error = page.evaluate("document.getElementById('wm-photo-error').textContent")
    assert "notes.txt ei ole kuva" in error
    wait_until(page.main_frame, STATUS + ".includes('notes.txt ei ole kuva')")
    assert page.get_attribute("#wm-photo-input", "aria-invalid") == "true"
    assert page.locator(".wm-photo-item").count() == 0
    assert axe_violations(page) == [], "the file error"
    context.close()

"""The consultation comment form in the widget, in Chromium: keyboard only, axe, retries, XSS."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.widgets import PLAN_MAP, Site, open_page, tab_until, wait_until

pytestmark = pytest.mark.browser

XSS_TEXT = '<img src=x onerror="window.pwned=1"> Hyvä kaava <script>window.pwned=2</script>'
XSS_NAME = '<svg onload="window.pwned=3">Åsa'


def _export(site: Site) -> list[dict[str, Any]]:
    """Every stored comment of the plan map, as staff export it (GeoJSON)."""
    out = site.data_dir.parent / "export.geojson"
    site.cli("comments", "export", PLAN_MAP, "--format", "geojson", "--output", str(out))
    features: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))["features"]
    return features


def _host(widget_url: str, widget_origin: str) -> str:
    return f"""<!doctype html><html lang="fi"><head><title>Lomake</title></head><body>
<iframe id="widget" src="{widget_url}" title="Kartta" style="width:1200px;height:2600px"></iframe>
<script>
window.received = [];
window.addEventListener("message", (event) => {{
  if (event.origin === "{widget_origin}") window.received.push(event.data);
}});
</script></body></html>"""


def test_keyboard_only_from_place_to_receipt(chromium: Any, widget_site: Site,
                                             origins: dict[str, Any]) -> None:
    origins["host_pages"]["/form.html"] = _host(f"{widget_site.url}/embed/{PLAN_MAP}?lang=fi",
                                                widget_site.url)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(origins["host"] + "/form.html")
    page.wait_for_function("window.received.some(m => m.type === 'ready')")
    frame = next(f for f in page.frames if f.url.startswith(widget_site.url))

    # Choose the map centre, then write the comment, all by keyboard.
    tab_until(page, frame, "el.id === 'wm-choose-centre'")
    page.keyboard.press("Enter")
    page.wait_for_function("window.received.some(m => m.type === 'location')")
    tab_until(page, frame, "el.id === 'wm-text'")
    text = "Leikkipaikka tähän, kiitos. Puut säilytettävä."
    page.keyboard.type(text)
    wait_until(frame, "document.getElementById('wm-text-count').textContent.includes('4954')")
    page.keyboard.press("Tab")
    page.keyboard.type("Åsa Öhman")
    page.keyboard.press("Tab")
    page.keyboard.type("asa@example.fi")
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") == "wm-notify"
    page.keyboard.press("Space")  # tell me when the response is published
    tab_until(page, frame, "el.id === 'wm-send'")
    page.keyboard.press("Enter")
    frame.wait_for_selector("#wm-receipt:not([hidden])")
    assert frame.evaluate("document.activeElement.id") == "wm-receipt-heading"
    reference = frame.evaluate("document.getElementById('wm-receipt-id').textContent")
    page.wait_for_function("window.received.some(m => m.type === 'comment-submitted')")
    message = page.evaluate("window.received.find(m => m.type === 'comment-submitted')")
    assert message == {"source": "webmap", "type": "comment-submitted", "id": reference}

    stored = [f for f in _export(widget_site) if f["properties"]["id"] == reference]
    assert len(stored) == 1
    props = stored[0]["properties"]
    assert props["text"] == text and props["name"] == "Åsa Öhman"
    assert props["email"] == "asa@example.fi" and props["language"] == "fi"
    assert props["notify"] is True
    assert stored[0]["geometry"]["type"] == "Point"
    context.close()


@pytest.mark.parametrize("width", [1280, 320])
def test_form_error_and_receipt_have_no_axe_violations(chromium: Any, widget_site: Site,
                                                       width: int) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=sv",
                                 width=width, height=800)
    assert axe_violations(page) == [], "form"
    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-errors:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "wm-errors"
    links = page.locator("#wm-error-list a")
    assert links.count() == 2
    text = page.locator("#wm-text")
    assert text.get_attribute("aria-invalid") == "true"
    described = (text.get_attribute("aria-describedby") or "").split()
    assert "wm-text-error" in described
    assert page.locator("#wm-text-error").text_content() == "Skriv en kommentar."
    assert axe_violations(page) == [], "error state"
    screenshot(page, f"comment-errors-sv-{width}")
    # the error link moves focus to its field
    links.nth(1).focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "wm-text"
    page.locator("#wm-choose-centre").focus()
    page.keyboard.press("Enter")
    text.fill("Bra plan.")
    page.locator("#wm-notify").check()  # asks to be told but gives no address
    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-email-error:not([hidden])")
    assert page.locator("#wm-email-error").text_content() == (
        "Ange din e-postadress för att få veta när svaret publiceras.")
    page.locator("#wm-email").fill("asa@example.se")
    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-receipt:not([hidden])")
    assert axe_violations(page) == [], "receipt"
    screenshot(page, f"comment-receipt-sv-{width}")
    context.close()


def test_a_lost_answer_is_retried_and_stored_once(chromium: Any, widget_site: Site) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=en")
    keys: list[str] = []
    statuses: list[int] = []

    def flaky(route: Any) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:  # the server stores it, the phone never hears back
            statuses.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*/maps/[^/]+/comments$"), flaky)
    page.evaluate("webmapWidget.choosePoint(webmapMap.getCenter())")
    page.locator("#wm-text").fill("Answer lost once: stored once.")
    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-receipt:not([hidden])")
    reference = page.evaluate("document.getElementById('wm-receipt-id').textContent")
    assert statuses == [201]
    assert len(keys) == 2 and keys[0] == keys[1]
    stored = [f for f in _export(widget_site)
              if f["properties"]["text"] == "Answer lost once: stored once."]
    assert [f["properties"]["id"] for f in stored] == [reference]
    context.close()


def test_user_text_is_shown_as_text_never_run(chromium: Any, widget_site: Site) -> None:
    context, page, _ = open_page(chromium, f"{widget_site.url}/embed/{PLAN_MAP}?lang=fi")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.evaluate("webmapWidget.choosePoint(webmapMap.getCenter())")
    page.locator("#wm-text").fill(XSS_TEXT)
    page.locator("#wm-name").fill(XSS_NAME)
    page.locator("#wm-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-receipt:not([hidden])")
    reference = page.evaluate("document.getElementById('wm-receipt-id').textContent")
    assert re.fullmatch(r"[a-z2-7]{10}", reference)

    # Staff publish it; the widget then lists it among the published comments.
    token = widget_site.cli("tokens", "create", "moderator").strip().split()[-1]
    import requests

    answer = requests.patch(f"{widget_site.url}/admin/api/comments/{reference}",
                            json={"status": "published"},
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    page.reload()
    page.wait_for_selector("html[data-ready]")
    item = page.locator("#wm-published li", has_text="Hyvä kaava")
    item.wait_for()
    assert XSS_TEXT in (item.text_content() or "")
    assert page.locator("#wm-published img, #wm-published script, #wm-published svg").count() == 0
    assert page.evaluate("window.pwned") is None
    assert dialogs == []
    public = requests.get(f"{widget_site.url}/maps/{PLAN_MAP}/comments", timeout=30).text
    assert "Åsa" not in public and "onload" not in public
    context.close()

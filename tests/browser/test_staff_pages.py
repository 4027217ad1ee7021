"""The staff pages in real Chromium: axe-core on every page at 1280 and 320 px, target sizes,
the sign-in → upload → report → preview flow by keyboard alone under the real CSP, the form
without JavaScript, and hostile comment text on the moderation page."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.browser.conftest import axe_violations, screenshot
from tests.builders import make_vector
from tests.conftest import ROOT, LiveServer, open_app
from webmap.i18n import staff_t
from webmap.services import services_of

pytestmark = pytest.mark.browser

MAP_ID = "kaava-2026"
XSS_TEXT = "Puisto tähän <script>alert(1)</script> <img src=x onerror=alert(1)>"
XSS_NAME = "<img src=x onerror=alert(2)>"
XSS_ALT = '"><img src=x onerror=alert(3)> Puiston portti'


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """gunicorn with a plan layer, the municipalities base layer, a published map with an open
    consultation and two comments whose text and name try to inject markup."""
    from webmap.layers import import_file
    from webmap.settings import Settings

    root = tmp_path_factory.mktemp("staff")
    layers_dir = root / "layers"
    (layers_dir / "maps").mkdir(parents=True)
    settings = Settings(data_dir=root / "data", layers_dir=layers_dir)
    app = open_app(settings)
    store = services_of(app).layers
    import_file(store, ROOT / "layers" / "demo" / "nls-municipalities" / "kuntarajat.2023.json",
                "municipalities")
    plan = make_vector(root / "files" / "kaava.geojson", fmt="geojson", n=60, invalid=2)
    import_file(store, plan, "kaava", title="Asemakaava – Åbo")
    services_of(app).maps.publish({
        "id": MAP_ID, "title": {"fi": "Asemakaava 2026", "en": "Detailed plan 2026"},
        "extent": [24.93, 60.16, 24.99, 60.19], "base": {"type": "rendered",
                                                       "basemap": "finland"},
        "layers": [{"layer": "kaava", "style": "districts", "plan": True, "label": "nimi"}],
        "consultation": {"geometry": ["point", "feature"]},
        "origins": ["https://asiointi.example.fi"]})
    comments = services_of(app).comments
    photo = io.BytesIO()
    Image.new("RGB", (300, 200), "#2e7d32").save(photo, format="PNG")
    for name in (XSS_NAME, "Åsa Öberg"):
        # the second comment has a photo whose description tries markup too
        photos = [photo.getvalue()] if name != XSS_NAME else []
        comments.submit(MAP_ID, {"text": XSS_TEXT, "name": name, "email": "asa@example.fi",
                                 "language": "fi", "geometry": {"type": "Point",
                                                                "coordinates": [24.95, 60.17]}},
                        photos=photos, photo_alts=[XSS_ALT] * len(photos))
    token = services_of(app).tokens.create("anna")
    server = LiveServer(settings.data_dir, layers_dir=layers_dir)
    yield {"url": server.url, "token": token, "files": root / "files"}
    server.stop()


def _context(chromium: Any, width: int = 1280, height: int = 800, **options: Any) -> Any:
    return chromium.new_context(viewport={"width": width, "height": height}, **options)


def _sign_in(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"] + "/admin/")
    page.fill("#f-token", site["token"])
    page.press("#f-token", "Enter")
    page.wait_for_url("**/admin/layers")


def _until(page: Any, expression: str, timeout_s: float = 15.0) -> None:
    """Poll ``expression`` in the page (Playwright's wait_for_function needs eval, which
    webmap's CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            pytest.fail(f"{expression} did not become true in {timeout_s:.0f} s")
        page.wait_for_timeout(50)  # polling the page, not a timing assumption


def _tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches ``selector``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


TARGETS = """() => [...document.querySelectorAll(
    'button, input:not([type=hidden]):not([type=checkbox]), select, textarea, nav a, ' +
    '.actions a, .cell-links a, .next-steps a, td a, .error-summary a, .staff-brand a, ' +
    '.back a, summary')]
  .filter(el => el.getClientRects().length && !el.closest('.leaflet-container'))
  .map(el => { const r = el.getBoundingClientRect();
               return {what: el.outerHTML.slice(0, 70), w: r.width, h: r.height}; })
  .filter(b => b.w < 44 || b.h < 44)"""


LOCALES = {"en": "en-GB", "fi": "fi-FI", "sv": "sv-SE"}
"""The browser's language per staff language: the pages follow its Accept-Language."""


def _check(page: Any, name: str, width: int, lang: str = "en") -> None:
    """axe-core finds nothing, nothing scrolls sideways, every target is 44 px; a screenshot."""
    assert page.evaluate("document.documentElement.lang") == lang, name
    assert axe_violations(page) == [], name
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    assert page.evaluate(TARGETS) == [], name
    screenshot(page, f"staff-{name}-{width}" if lang == "en" else f"staff-{name}-{lang}-{width}")


@pytest.mark.parametrize("lang", ["en", "fi", "sv"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (320, 640)])
def test_every_staff_page_passes_axe(chromium: Any, site: dict[str, Any], width: int,
                                     height: int, lang: str) -> None:
    # axe is an inline script; the browser's language chooses the pages' language
    context = _context(chromium, width, height, bypass_csp=True, locale=LOCALES[lang])
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(site["url"])
            and not r.url.startswith("data:") else None)
    page.goto(site["url"] + "/admin/")
    _check(page, "sign-in", width, lang)
    page.fill("#f-token", "not-a-token")
    page.press("#f-token", "Enter")
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    _check(page, "sign-in-error", width, lang)
    _sign_in(page, site)
    _check(page, "layers", width, lang)
    page.goto(site["url"] + "/admin/layers/new")
    _check(page, "upload", width, lang)
    page.click("main button[type=submit]")  # nothing filled in: the errors come back in place
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    _check(page, "upload-errors", width, lang)
    page.set_input_files("#f-file", str(site["files"] / "kaava.geojson"))
    page.fill("#f-id", f"kaava-{lang}-{width}")
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/admin/layers/kaava-{lang}-{width}/report")
    _check(page, "report", width, lang)
    pages = [("preview", "/admin/layers/kaava"),
             ("style", "/admin/layers/kaava/style?style=districts&base=finland"),
             ("remove", "/admin/layers/kaava/remove"),
             ("maps", "/admin/maps"), ("compose", "/admin/maps/new"),
             ("plan-upload", "/admin/plans/new"),
             ("edit", f"/admin/maps/{MAP_ID}/edit"),
             ("take-down", f"/admin/maps/{MAP_ID}/take-down"),
             ("moderation", f"/admin/maps/{MAP_ID}/comments?status=all"),
             ("responses", f"/admin/maps/{MAP_ID}/responses"),
             ("not-found", "/admin/layers/nope")]
    for name, path in pages:
        page.goto(site["url"] + path)
        if name in ("preview", "style"):
            _until(page, "document.documentElement.dataset.ready")
            drawn = staff_t("js.drawn", lang, n="").strip(" .")
            assert drawn in page.inner_text("#map-status"), name
        _check(page, name, width, lang)
    page.goto(site["url"] + "/admin/maps/new")
    page.click("main button[type=submit]")
    page.wait_for_selector(".error-summary")
    _check(page, "compose-errors", width, lang)
    assert foreign == []
    context.close()


def test_sign_in_upload_report_preview_by_keyboard(chromium: Any, site: dict[str, Any]) -> None:
    # the real CSP: the pages' scripts must work under it; no animations to wait for
    context = _context(chromium, reduced_motion="reduce")
    page = context.new_page()
    posts: list[tuple[str, str]] = []
    page.on("request", lambda r: posts.append((r.resource_type, r.url))
            if r.method == "POST" else None)
    page.goto(site["url"] + "/admin/layers/new")  # not signed in: the sign-in form first
    page.wait_for_url(re.compile(r"/admin/\?next=/admin/layers/new$"))
    _tab_to(page, "#f-token")
    page.keyboard.type(site["token"])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/admin/layers/new")
    _tab_to(page, "#f-file")
    page.set_input_files("#f-file", str(site["files"] / "kaava.geojson"))  # the OS dialog
    _tab_to(page, "#f-id")
    page.keyboard.type("kaava-keys")
    _tab_to(page, "#f-title")
    page.keyboard.type("Kaava näppäimistöllä")
    _tab_to(page, "form[data-upload] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/layers/kaava-keys/report")
    assert ("xhr", f"{site['url']}/admin/layers/new") in posts  # sent with the progress bar
    report = page.inner_text("main")
    assert "60 polygons were imported." in report
    assert "2 polygons were self-intersecting and were repaired." in report
    _tab_to(page, "a[href$='/admin/layers/kaava-keys']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/layers/kaava-keys")
    _until(page, "document.documentElement.dataset.ready")
    assert page.inner_text("#map-status") == "60 features drawn."
    _tab_to(page, "#wm-map")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    zoom = page.evaluate("webmapMap.getZoom()")
    page.keyboard.press("Equal")
    _until(page, f"webmapMap.getZoom() > {zoom}")
    closer = page.evaluate("webmapMap.getZoom()")
    _tab_to(page, "button[data-map=fit]")
    page.keyboard.press("Enter")
    _until(page, f"webmapMap.getZoom() < {closer}")
    context.close()


def test_upload_works_without_javascript(chromium: Any, site: dict[str, Any]) -> None:
    context = _context(chromium, java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, site)
    page.goto(site["url"] + "/admin/layers/new")
    page.set_input_files("#f-file", str(site["files"] / "kaava.geojson"))
    page.fill("#f-id", "kaava-plain")
    page.click("main button[type=submit]")
    page.wait_for_url("**/admin/layers/kaava-plain/report")
    assert "60 polygons were imported." in page.inner_text("main")
    context.close()


def test_hostile_comments_stay_text(chromium: Any, site: dict[str, Any]) -> None:
    # bypass_csp: the CSP would stop an injected script anyway; this checks the escaping itself
    context = _context(chromium, 320, 640, bypass_csp=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, site)
    page.goto(f"{site['url']}/admin/maps/{MAP_ID}/comments?status=all")
    texts = page.locator(".comment-text").all_inner_texts()
    assert texts == [XSS_TEXT, XSS_TEXT]
    assert XSS_NAME in page.inner_text("main")
    photo = page.locator(".photos img")
    assert photo.get_attribute("alt") == XSS_ALT
    photo.scroll_into_view_if_needed()  # loaded lazily
    page.wait_for_function("document.querySelector('.photos img').naturalWidth > 0")
    assert page.evaluate("document.querySelector('.photos img').naturalWidth") == 300
    assert XSS_ALT in page.inner_text(".photos figcaption")
    injected = page.evaluate("""() => ({
        images: [...document.querySelectorAll('img')].filter(i => !i.closest('.photos')).length,
        scripts: [...document.scripts].filter(s => s.textContent.includes('alert')).length,
        handlers: document.querySelectorAll('[onerror]').length})""")
    assert injected == {"images": 0, "scripts": 0, "handlers": 0}
    assert dialogs == []
    context.close()


def test_keyboard_focus_is_always_visible(chromium: Any, site: dict[str, Any]) -> None:
    context = _context(chromium)
    page = context.new_page()
    _sign_in(page, site)
    page.goto(f"{site['url']}/admin/maps/{MAP_ID}/comments")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        seen.append(page.evaluate("document.activeElement.textContent.trim().slice(0, 40)"))
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", seen[-1]
    assert seen[0] == "Skip to content" and "Sign out" in seen
    assert any(label.startswith("Publish") for label in seen)
    context.close()


def test_a_response_by_keyboard_alone(chromium: Any, site: dict[str, Any]) -> None:
    """Tab to a comment's response box, write, tag a theme, mark the change, save with Enter
    on the button, publish; the public list then carries the response."""
    import requests

    context = _context(chromium)
    page = context.new_page()
    _sign_in(page, site)
    page.goto(site["url"] + f"/admin/maps/{MAP_ID}/responses")
    box = page.locator("textarea[name=response]").first
    box_id = box.get_attribute("id")
    comment_id = box_id.removeprefix("r-")
    assert page.get_by_label(f"Response to comment {comment_id}").count() == 1
    _tab_to(page, f"#{box_id}")
    page.keyboard.type("Kiitos, puisto säilyy.")
    page.keyboard.press("Tab")
    page.keyboard.type("Puistot")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the changed-plan checkbox
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("Save")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/admin/maps/{MAP_ID}/responses#c-{comment_id}")
    assert page.get_by_role("heading", name="Theme: Puistot (1)").count() == 1
    assert page.input_value(f"#r-{comment_id}") == "Kiitos, puisto säilyy."
    assert page.is_checked(f"#ch-{comment_id}")
    public = requests.get(site["url"] + f"/maps/{MAP_ID}/comments", timeout=10).text
    assert "Kiitos, puisto" not in public  # a draft until published
    moderated = requests.patch(site["url"] + f"/admin/api/comments/{comment_id}",
                               json={"status": "published"}, timeout=10,
                               headers={"Authorization": f"Bearer {site['token']}"})
    assert moderated.status_code == 200
    _tab_to(page, "#publish-responses")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=responses are public now")
    shown = requests.get(site["url"] + f"/maps/{MAP_ID}/comments", timeout=10).json()
    answered = {f["id"]: f["properties"]["response"] for f in shown["features"]}
    assert answered[comment_id] == {"text": "Kiitos, puisto säilyy.", "changed_plan": True,
                                    "themes": ["Puistot"]}
    context.close()


def test_the_report_downloads_by_keyboard(chromium: Any, site: dict[str, Any]) -> None:
    """Each report link names its format and language; Enter on one downloads the tagged PDF
    in that language."""
    import io
    from pathlib import Path

    import pypdf

    context = _context(chromium, accept_downloads=True)
    page = context.new_page()
    _sign_in(page, site)
    page.goto(site["url"] + f"/admin/maps/{MAP_ID}/responses")
    link = page.get_by_role("link", name="PDF (tagged, to publish), Swedish (svenska) report")
    assert link.count() == 1
    word = page.get_by_role("link", name="Word (DOCX, to edit), Finnish (suomi) report")
    assert word.count() == 1
    _tab_to(page, 'a[href$="format=pdf&lang=sv"]')
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == f"samradsredogorelse-{MAP_ID}.pdf"
    reader = pypdf.PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
    assert reader.trailer["/Root"]["/Lang"] == "sv"
    assert reader.metadata.title == "Samrådsredogörelse: Detailed plan 2026"
    context.close()


def test_the_language_switcher_by_keyboard(chromium: Any, site: dict[str, Any]) -> None:
    context = _context(chromium, locale="en-GB")
    page = context.new_page()
    page.goto(site["url"] + "/admin/")
    assert page.evaluate("document.documentElement.lang") == "en"
    _tab_to(page, "a[hreflang=sv]")
    assert page.evaluate("document.activeElement.textContent") == "svenska"
    assert page.evaluate("document.activeElement.lang") == "sv"
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/?lang=sv")
    assert page.evaluate("document.documentElement.lang") == "sv"
    assert page.inner_text("h1") == "Logga in på webmaps administrationssidor"
    assert page.get_attribute("a[hreflang=sv]", "aria-current") == "true"
    # the choice is kept: signing in lands on the layers in Swedish
    page.fill("#f-token", site["token"])
    page.press("#f-token", "Enter")
    page.wait_for_url("**/admin/layers")
    assert page.evaluate("document.documentElement.lang") == "sv"
    assert page.inner_text("h1") == "Lager"
    context.close()

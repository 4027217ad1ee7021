"""The embeddable widget in real Chromium: axe-core, keyboard only, host messages, touch, reflow.

One gunicorn serves the demo plan and postal areas for the module. The host e-service page
is served from a second origin (``localhost``) and a third page from ``127.0.0.2``, so the
postMessage origin checks and ``frame-ancestors`` are exercised across real origins.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.widgets import HKI_MAP, PLAN_MAP, open_page, tab_until, wait_until
from tests.conftest import ROOT

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (320, 640)])
def test_widget_has_no_axe_violations(chromium: Any, widget_server: str, lang: str,
                                      width: int, height: int) -> None:
    context, page, requests = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}?lang={lang}",
                                    width=width, height=height)
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.locator(".wm-item").count() == 80 + 64
    assert axe_violations(page) == [], "panel closed"
    page.locator(".wm-item").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-panel:not([hidden])")
    assert axe_violations(page) == [], "panel open"
    screenshot(page, f"widget-{lang}-{width}-panel")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
    assert all(url.startswith(widget_server) or url.startswith("data:") for url in requests)
    context.close()


def test_search_is_a_keyboard_combobox_that_chooses_the_place(chromium: Any,
                                                              widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{HKI_MAP}?lang=fi")
    combo = page.locator("#wm-search-input")
    combo.focus()
    page.keyboard.type("saastopankinr")  # no accents: finds Säästöpankinranta
    page.wait_for_selector("#wm-search-list:not([hidden]) [role=option]")
    assert combo.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    active = combo.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    label = page.locator(f"#{active}").text_content()
    assert label and label.startswith("Säästöpankinranta")
    assert axe_violations(page) == []
    page.keyboard.press("Enter")
    page.wait_for_function("webmapWidget.chosen !== null")
    assert combo.input_value() == label
    assert combo.get_attribute("aria-expanded") == "false"
    chosen = page.evaluate("webmapWidget.chosen")
    assert chosen["kind"] == "point"
    page.wait_for_function("document.getElementById('wm-chosen-text').textContent"
                           ".includes('Kallio')")  # Säästöpankinranta lies in Kallio (00530)
    context.close()


def test_every_control_is_at_least_44_px(chromium: Any, widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}?lang=fi",
                             width=320, height=640)
    page.locator(".wm-item").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-panel:not([hidden])")
    small = page.evaluate("""() => [...document.querySelectorAll(
            'button, a[href], input, select, textarea, [role=option], [tabindex="0"]')]
        .filter(el => !(el instanceof SVGElement) && el.getClientRects().length
                      && getComputedStyle(el).visibility !== 'hidden'
                      && !el.classList.contains('wm-skip') && !el.closest('[aria-hidden=true]'))
        .map(el => { const r = el.getBoundingClientRect();
                     return {what: el.outerHTML.slice(0, 80), w: r.width, h: r.height}; })
        .filter(b => b.w < 44 || b.h < 44)""")
    assert small == []
    screenshot(page, "widget-fi-320-top")
    context.close()


def test_page_stays_zoomable_and_loads_nothing_from_elsewhere(chromium: Any,
                                                             widget_server: str) -> None:
    context, page, requests = open_page(chromium, f"{widget_server}/embed/{HKI_MAP}?lang=sv")
    viewports = page.evaluate("[...document.querySelectorAll('meta[name=viewport]')]"
                              ".map(m => m.content)")
    assert viewports == ["width=device-width, initial-scale=1"]
    assert requests and all(u.startswith(widget_server) or u.startswith("data:")
                            for u in requests)
    assert "leaflet" in " ".join(requests)
    assert page.evaluate("typeof L.Proj") == "undefined"  # proj4 only for national grids
    context.close()


def test_national_grid_map_is_drawn_in_etrs_tm35fin(chromium: Any, widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}")
    assert page.evaluate("webmapMap.options.crs.code") == "EPSG:3067"
    # The view covers the plan: a land-use area's centre is inside the map bounds.
    inside = page.evaluate("""() => { const b = webmapMap.getBounds();
        return [...document.querySelectorAll('path.wm-feature')].length > 100
               && b.contains(L.latLng(60.456, 22.685)); }""")
    assert inside
    tiles = page.evaluate("[...document.querySelectorAll('.leaflet-tile')].map(t => t.src)")
    assert tiles and all("/tiles/ETRS-TM35FIN/" in src for src in tiles)
    context.close()


def _host_page(widget_url: str, widget_origin: str, third_url: str) -> str:
    return f"""<!doctype html><html lang="en"><head><title>E-service</title></head><body>
<h1>Comment on the plan</h1>
<iframe id="widget" src="{widget_url}" title="Map" style="width:1200px;height:1400px"></iframe>
<iframe id="third" src="{third_url}" title="Another site"></iframe>
<script>
window.received = [];
window.addEventListener("message", (event) => {{
  if (event.origin === "{widget_origin}") window.received.push(event.data);
}});
</script></body></html>"""


THIRD_PAGE = """<!doctype html><html lang="en"><head><title>Third</title></head><body>
<script>
window.attack = () => {
  const widget = window.parent.frames[0];
  widget.postMessage({type: "set-location", geometry: {type: "Point",
                      coordinates: [22.68, 60.455]}}, "*");
  widget.postMessage({type: "clear"}, "*");
  widget.postMessage({type: "set-language", lang: "en"}, "*");
};
</script></body></html>"""


def test_keyboard_only_journey_and_host_messages(chromium: Any, widget_server: str,
                                                 origins: dict[str, Any]) -> None:
    origins["host_pages"]["/host.html"] = _host_page(
        f"{widget_server}/embed/{PLAN_MAP}?lang=fi", widget_server,
        origins["third"] + "/third.html")
    origins["third_pages"]["/third.html"] = THIRD_PAGE
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(origins["host"] + "/host.html")
    page.wait_for_function("window.received.some(m => m.type === 'ready')")
    widget = page.frame_locator("#widget")  # noqa: F841 - keeps the frame alive by name
    frame = next(f for f in page.frames if f.url.startswith(widget_server))
    third = next(f for f in page.frames if f.url.startswith(origins["third"]))
    ready = page.evaluate("window.received[0]")
    assert ready == {"source": "webmap", "type": "ready", "map": PLAN_MAP}

    # Reach the map and pan with an arrow key, zoom with +.
    tab_until(page, frame, "el.id === 'wm-map'")
    before = frame.evaluate("webmapMap.getCenter()")
    page.keyboard.press("ArrowRight")
    wait_until(frame, f"webmapMap.getCenter().lng > {before['lng']}")
    zoom = frame.evaluate("webmapMap.getZoom()")
    page.keyboard.press("+")
    wait_until(frame, f"document.documentElement.dataset.zoom === '{zoom + 1}'")  # zoomend
    page.keyboard.press("-")
    wait_until(frame, f"document.documentElement.dataset.zoom === '{zoom}'")

    # The plan areas themselves: one tab stop, arrow keys step, Enter opens, Escape returns.
    page.keyboard.press("Tab")
    first = frame.evaluate("document.activeElement.getAttribute('aria-label')")
    assert frame.evaluate("document.activeElement.getAttribute('role')") == "button"
    page.keyboard.press("ArrowRight")
    second = frame.evaluate("document.activeElement.getAttribute('aria-label')")
    assert second and second != first
    page.keyboard.press("Enter")
    frame.wait_for_selector("#wm-panel:not([hidden])")
    assert frame.evaluate("document.activeElement.id") == "wm-panel"
    assert second.startswith(frame.evaluate("document.getElementById('wm-panel-title')"
                                            ".textContent"))
    page.keyboard.press("Escape")
    frame.wait_for_selector("#wm-panel", state="hidden")
    assert frame.evaluate("document.activeElement.getAttribute('aria-label')") == second

    # Choose the map centre (the crosshair).
    tab_until(page, frame, "el.dataset.action === 'choose-centre'")
    page.keyboard.press("Enter")
    page.wait_for_function("window.received.some(m => m.type === 'location')")
    location = page.evaluate("window.received.find(m => m.type === 'location')")
    centre = frame.evaluate("webmapMap.getCenter()")
    assert location["source"] == "webmap"
    assert location["geometry"]["type"] == "Point"
    lon, lat = location["geometry"]["coordinates"]
    assert abs(lon - centre["lng"]) < 1e-6 and abs(lat - centre["lat"]) < 1e-6
    assert location["feature"] is not None  # the plan centre lies in a plan area
    assert location["feature"]["collection"] in {"asemakaava-alueet", "asemakaava-osa-alueet"}
    wait_until(frame, "document.getElementById('wm-status').textContent")  # announced politely
    status = frame.evaluate("document.getElementById('wm-status').textContent")
    marking = next(v for k, v in location["feature"]["properties"].items()
                   if k.endswith("_kaavamerkinta"))
    assert status == f"Valittu paikka on kohteessa {marking}."

    # Choose a feature from the list (the text alternative).
    tab_until(page, frame, "el.classList.contains('wm-item')")
    item_name = frame.evaluate("document.activeElement.querySelector('.wm-item-name')"
                               ".textContent")
    page.keyboard.press("Enter")
    frame.wait_for_selector("#wm-panel:not([hidden])")
    tab_until(page, frame, "el.dataset.action === 'choose-feature'")
    page.keyboard.press("Enter")
    page.wait_for_function("window.received.filter(m => m.type === 'location').length === 2")
    chosen = page.evaluate("window.received.filter(m => m.type === 'location')[1]")
    assert chosen["feature"]["collection"] == "asemakaava-alueet"
    assert chosen["feature"]["properties"]["maankaytto_asemakaava_kaavamerkinta"] == item_name
    assert chosen["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert frame.evaluate("document.activeElement.classList.contains('wm-item')")

    # A third origin is ignored: no new message, the choice and language stay.
    third.evaluate("attack()")
    page.evaluate(f"""document.getElementById('widget').contentWindow.postMessage(
        {{type: 'set-language', lang: 'sv'}}, '{widget_server}')""")
    wait_until(frame, "document.documentElement.lang === 'sv'")
    assert page.evaluate("window.received.filter(m => m.type === 'location').length") == 2
    assert frame.evaluate("webmapWidget.chosen.kind") == "feature"
    assert frame.evaluate("document.querySelector('[data-action=choose-centre]').textContent"
                          ) == "Välj kartans mittpunkt"

    # The host sets a location and clears it.
    page.evaluate(f"""document.getElementById('widget').contentWindow.postMessage(
        {{type: 'set-location', geometry: {{type: 'Point', coordinates: [22.685, 60.456]}}}},
        '{widget_server}')""")
    page.wait_for_function("window.received.filter(m => m.type === 'location').length === 3")
    third_location = page.evaluate("window.received.filter(m => m.type === 'location')[2]")
    assert third_location["geometry"] == {"type": "Point", "coordinates": [22.685, 60.456]}
    page.evaluate(f"""document.getElementById('widget').contentWindow.postMessage(
        {{type: 'clear'}}, '{widget_server}')""")
    wait_until(frame, "webmapWidget.chosen === null")
    context.close()


def test_the_example_host_page_in_the_repository_works(chromium: Any, widget_server: str,
                                                      origins: dict[str, Any]) -> None:
    example = (ROOT / "examples" / "host.html").read_text(encoding="utf-8")
    origins["host_pages"]["/example.html"] = example.replace(
        "http://127.0.0.1:8000", widget_server).replace("paimio-asemakaava", PLAN_MAP)
    context = chromium.new_context()
    page = context.new_page()
    page.goto(origins["host"] + "/example.html")
    page.wait_for_function("document.getElementById('log').textContent.includes('ready')")
    page.locator("button[data-lang=sv]").focus()
    page.keyboard.press("Enter")
    frame = next(f for f in page.frames if f.url.startswith(widget_server))
    wait_until(frame, "document.documentElement.lang === 'sv'")
    frame.evaluate("webmapWidget.choosePoint(webmapMap.getCenter())")
    page.wait_for_function("document.getElementById('location').textContent.includes('Point')")
    page.wait_for_function("document.getElementById('national').textContent"
                           ".startsWith('EPSG:3067 POINT (')")
    context.close()


def test_other_origins_cannot_frame_the_widget(chromium: Any, widget_server: str,
                                               origins: dict[str, Any]) -> None:
    origins["third_pages"]["/framer.html"] = _host_page(
        f"{widget_server}/embed/{PLAN_MAP}", widget_server, "about:blank")
    context = chromium.new_context()
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text
            else None)
    page.goto(origins["third"] + "/framer.html")
    page.wait_for_load_state("load")
    frame = page.frame_locator("#widget")
    assert frame.locator("#wm-map").count() == 0
    assert page.evaluate("window.received.length") == 0
    assert blocked, "Chromium did not report the frame-ancestors refusal"
    context.close()


def test_one_finger_scrolls_the_page_two_fingers_move_the_map(chromium: Any,
                                                              widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}?lang=en",
                             width=375, height=667, has_touch=True, is_mobile=True)
    assert page.evaluate("webmapMap.gestureHandling.enabled()")
    assert not page.evaluate("webmapMap.dragging.enabled()")
    touch_action = page.evaluate("getComputedStyle(document.getElementById('wm-map'))"
                                 ".touchAction")
    assert "pan-y" in touch_action or touch_action == "auto", touch_action
    one = """n => { const el = document.getElementById('wm-map');
        const r = el.getBoundingClientRect();
        const touches = [...Array(n).keys()].map(i => new Touch({identifier: i, target: el,
            clientX: r.left + 50 + 30 * i, clientY: r.top + 50}));
        el.dispatchEvent(new TouchEvent('touchstart', {touches, targetTouches: touches,
            changedTouches: touches, bubbles: true, cancelable: true}));
        return [webmapMap.dragging.enabled(),
                el.classList.contains('leaflet-gesture-handling-touch-warning'),
                el.getAttribute('data-gesture-handling-touch-content')]; }"""
    dragging, warned, text = page.evaluate(one, 1)
    assert (dragging, warned) == (False, True)
    assert text == "Use two fingers to move the map"
    dragging, warned, _ = page.evaluate(one, 2)
    assert (dragging, warned) == (True, False)
    context.close()


def test_reduced_motion_and_forced_colours(chromium: Any, widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}?lang=fi",
                             reduced_motion="reduce", forced_colors="active")
    assert page.evaluate("webmapMap.options.zoomAnimation") is False
    assert page.evaluate("webmapMap.options.fadeAnimation") is False
    page.locator(".wm-item").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#wm-panel:not([hidden])")
    pressed = page.evaluate("""getComputedStyle(document.querySelector(
        '.wm-item[aria-pressed=true]')).backgroundColor""")
    normal = page.evaluate("getComputedStyle(document.querySelector("
                           "'.wm-item[aria-pressed=false]')).backgroundColor")
    assert pressed != normal  # the chosen item stands out in forced colours too
    assert axe_violations(page) == []
    screenshot(page, "widget-forced-colours")
    context.close()


def test_language_switch_changes_every_string(chromium: Any, widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}?lang=fi")
    page.locator(".wm-lang[data-lang=en]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'en'")
    en = json.loads((ROOT / "webmap" / "i18n" / "en.json").read_text(encoding="utf-8"))
    texts = page.evaluate("[...document.querySelectorAll('[data-i18n]')]"
                          ".map(el => [el.dataset.i18n, el.textContent])")
    assert texts and all(text == en[key] for key, text in texts)
    assert page.evaluate("document.querySelector('h1').textContent") == \
        "Detailed plan proposal (example), Paimio"
    context.close()



def test_swedish_interface_lists_swedish_names_where_the_data_has_them(
        chromium: Any, widget_server: str) -> None:
    """The Helsinki map names postal areas by ``nimi_ru`` in Swedish (``labels.sv``) and by
    ``nimi`` otherwise; a switch of language renames the list."""
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{HKI_MAP}?lang=sv")
    names = "[...document.querySelectorAll('#wm-features .wm-item-name')].map(e => e.textContent)"
    swedish = page.evaluate(names)
    assert "Kronohagen" in swedish and "Kruununhaka" not in swedish, swedish[:10]
    page.locator(".wm-lang[data-lang=fi]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'fi'")
    finnish = page.evaluate(names)
    assert "Kruununhaka" in finnish and "Kronohagen" not in finnish, finnish[:10]
    context.close()


@pytest.mark.parametrize("width", [1280, 320])
def test_map_pages_have_no_axe_violations(chromium: Any, widget_server: str,
                                          width: int) -> None:
    context = chromium.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{widget_server}/maps?f=html")
    assert axe_violations(page) == [], "/maps"
    page.goto(f"{widget_server}/maps/{PLAN_MAP}?f=html&lang=sv")
    page.frame_locator("iframe").locator("html[data-ready]").wait_for(state="attached")
    assert page.locator("iframe").get_attribute("title") == \
        "Karta: Förslag till detaljplan (exempel), Pemar"
    assert axe_violations(page) == [], "/maps/{id}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, f"map-page-{width}")
    context.close()


def _base_tiles(page: Any) -> list[str]:
    wait_until(page, "document.querySelectorAll('.leaflet-tile-loaded').length > 0")
    return page.evaluate("[...document.querySelectorAll('.leaflet-tile')].map(t => t.src)")


def test_the_high_contrast_base_is_a_toggle(chromium: Any, widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{HKI_MAP}?lang=sv",
                                 width=320, height=640)
    button = page.locator("#wm-contrast")
    assert button.is_visible() and button.inner_text() == "Bakgrundskarta med hög kontrast"
    assert button.get_attribute("aria-pressed") == "false"
    assert all("/basemaps/helsinki-osm/tiles/" in src for src in _base_tiles(page))
    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-pressed") == "true"
    wait_until(page, "[...document.querySelectorAll('.leaflet-tile')].every("
                     "t => t.src.includes('/basemaps/helsinki-osm-contrast/tiles/'))")
    assert axe_violations(page) == []
    screenshot(page, "widget-high-contrast-base-320")
    context.close()


def test_forced_colours_choose_the_high_contrast_base(chromium: Any, widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{HKI_MAP}",
                                 forced_colors="active")
    assert page.locator("#wm-contrast").get_attribute("aria-pressed") == "true"
    assert all("/basemaps/helsinki-osm-contrast/tiles/" in src for src in _base_tiles(page))
    context.close()


def test_no_toggle_where_the_base_has_no_variant_offered(chromium: Any,
                                                          widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}")
    # finland-contrast draws the municipalities too, so it is offered: the toggle shows
    assert page.locator("#wm-contrast").is_visible()
    context.close()


def test_legend_at_320px_comes_before_the_list_and_names_only_classes_in_the_data(
        chromium: Any, widget_server: str) -> None:
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{PLAN_MAP}?lang=fi",
                                 width=320, height=640)
    found = page.evaluate("""() => {
        const config = JSON.parse(document.getElementById('wm-config').textContent);
        const known = config.layers.reduce(
            (n, l) => n + ((l.style && l.style.classes) || []).length, 0);
        const labels = [...document.querySelectorAll('.wm-legend-items li span')]
            .map(s => s.textContent);
        const features = [...document.querySelectorAll('.leaflet-overlay-pane [role=button]')]
            .map(el => el.getAttribute('aria-label'));
        const top = (sel) => document.querySelector(sel).getBoundingClientRect().top;
        return {known, labels, features, legend: top('.wm-legend'), list: top('#wm-features')};
    }""")
    assert found["labels"], "the legend is empty"
    assert len(found["labels"]) < found["known"], "the legend lists classes no feature has"
    for label in found["labels"]:
        legend = label.split(" – ")[-1]
        assert any(f.endswith(f", {legend}") for f in found["features"]), label
    assert found["legend"] < found["list"], "the legend comes after the long feature list"
    context.close()


@pytest.mark.parametrize("width", [320, 1280])
def test_attribution_goes_under_the_map_on_narrow_screens(chromium: Any, widget_server: str,
                                                         width: int) -> None:
    """At 320 px the attribution would cover part of the map and its scale bar: it is a line
    under the map there, and stays in the map's corner on wide screens."""
    context, page, _ = open_page(chromium, f"{widget_server}/embed/{HKI_MAP}?lang=fi",
                                 width=width, height=640)
    found = page.evaluate("""() => {
        const control = document.querySelector('.leaflet-control-attribution');
        const map = document.getElementById('wm-map').getBoundingClientRect();
        const box = control.getBoundingClientRect();
        const scale = document.querySelector('.leaflet-control-scale-line')
            .getBoundingClientRect();
        return {inMap: document.getElementById('wm-map').contains(control),
                text: control.textContent, mapBottom: map.bottom, top: box.top,
                overlapsScale: !(box.right <= scale.left || box.left >= scale.right ||
                                 box.bottom <= scale.top || box.top >= scale.bottom)};
    }""")
    assert "OpenStreetMap" in found["text"], found["text"]
    if width == 320:
        assert not found["inMap"] and found["top"] >= found["mapBottom"] - 1, found
        screenshot(page, "widget-credits-320")
    else:
        assert found["inMap"], found
    assert not found["overlapsScale"], found
    context.close()

"""A plan imported from the Ryhti model, read in the widget: the feature panel gives the
regulation group and its regulations in fi, sv and en, by keyboard from the list and from
the map, with no axe-core violations."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.widgets import open_page
from tests.conftest import ROOT, LiveServer
from webmap.services import open_services
from webmap.settings import Settings

pytestmark = pytest.mark.browser
PLAN = ROOT / "layers" / "demo" / "ryhti-kaava" / "SpatialPlan-kayttotarkoituskohdistus.json"
MAP = "ryhti-testikaava"


@pytest.fixture(scope="module")
def plan_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn serving the demo Ryhti plan and its map."""
    root = tmp_path_factory.mktemp("plan-widget")
    layers_dir = root / "layers"
    (layers_dir / "maps").mkdir(parents=True)
    shutil.copy(ROOT / "layers" / "maps" / f"{MAP}.json", layers_dir / "maps")
    settings = Settings(data_dir=root / "data", layers_dir=layers_dir)
    with open_services(settings) as services:
        services.plans.import_plan(PLAN, MAP, name="Testiasemakaava", municipality="601")
    server = LiveServer(settings.data_dir, layers_dir=layers_dir)
    yield server.url
    server.stop()


def panel_text(page: Any) -> str:
    page.wait_for_selector("#wm-panel:not([hidden]) #wm-panel-regulations:not([hidden])")
    return str(page.locator("#wm-panel-regulations").inner_text())


EXPECTED = {
    "fi": ("Kaavamääräykset", "Asumisen alue", "Sallittu kerrosala: 6\u00a0000\u00a0k-m²",
           "Kaavan vaihe: Kaavaehdotus"),
    "sv": ("Planbestämmelser", "Område för boende", "Tillåten våningsyta: 6\u00a0000\u00a0k-m²",
           "Planens skede: Planförslag"),
    "en": ("Plan regulations", "Residential area", "Permitted floor area: 6,000\u00a0k-m²",
           "Plan status: Plan proposal"),
}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_panel_reads_the_regulations_from_the_list(chromium: Any, plan_server: str,
                                                   lang: str) -> None:
    context, page, requests = open_page(chromium, f"{plan_server}/embed/{MAP}?lang={lang}")
    heading, use, floor_area, status = EXPECTED[lang]
    assert page.locator(".wm-item").count() == 3
    page.locator(".wm-item", has_text="AL-alueen kaavakohde").focus()
    page.keyboard.press("Enter")
    text = panel_text(page)
    assert text.startswith(heading)
    assert "AL — Asuin-, liike- ja toimistorakennusten alue" in text
    assert use in text
    page.wait_for_selector("#wm-panel-plan-status:not([hidden])")
    assert page.locator("#wm-panel-plan-status").inner_text() == status
    title = page.locator(".wm-regulation-group span").first
    assert title.get_attribute("lang") == (None if lang == "fi" else "fi"), \
        "a Finnish-only title on another page carries lang=fi"
    assert axe_violations(page) == []
    screenshot(page, f"plan-widget-{lang}-panel")
    page.keyboard.press("Escape")
    page.locator(".wm-item", has_text="Rakennusalan kaavakohde (XII)").focus()
    page.keyboard.press("Enter")
    assert floor_area in panel_text(page)
    assert all(url.startswith(plan_server) or url.startswith("data:") for url in requests)
    context.close()


def test_panel_reads_the_regulations_from_a_focused_map_area(chromium: Any,
                                                             plan_server: str) -> None:
    context, page, _ = open_page(chromium, f"{plan_server}/embed/{MAP}?lang=fi", width=320,
                                 height=640)
    area = page.locator("path[aria-label^='AL-alueen kaavakohde']")
    area.focus()
    page.keyboard.press("Enter")
    assert "Toimistorakennusten alue" in panel_text(page)
    assert axe_violations(page) == []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    context.close()



@pytest.mark.parametrize(("width", "height"), [(1280, 800), (320, 640)])
def test_plan_pages_have_no_axe_violations(chromium: Any, plan_server: str, width: int,
                                           height: int) -> None:
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   bypass_csp=True)
    page = context.new_page()
    for path in ("/plans?f=html", f"/plans/{MAP}?f=html"):
        page.goto(plan_server + path)
        assert axe_violations(page) == [], path
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
    assert "Permitted floor area: 6,000" in page.locator("main").inner_text()
    context.close()

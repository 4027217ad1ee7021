"""The shipped plan style and code lists against the shared sources they come from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import ROOT
from tests.plans.conftest import CATALOGUE, PALETTE
from webmap.plans.boverket_style import COLOURS, style_from_catalogue
from webmap.plans.codes import boverket, ryhti_code
from webmap.plans.palette import style_from_palette
from webmap.styles import StyleCatalogue


def test_committed_plan_style_is_generated_from_the_palette(shared: Path) -> None:
    generated = style_from_palette(shared / PALETTE)
    committed = json.loads((ROOT / "styles" / "kaava-alueet.json").read_text(encoding="utf-8"))
    assert generated == committed
    with (shared / PALETTE).open(encoding="utf-8", newline="") as file:
        rows = [r for r in csv.DictReader(file)
                if r["sld_file"].endswith("kaavayksikot.sld") and not r["label"].startswith("/")]
    classes = {c["symbol"]: c for c in committed["classes"] if c.get("symbol")}
    assert set(classes) == {r["label"] for r in rows}
    for row in rows:
        drawn = classes[row["label"]]
        assert drawn["values"] == [row["label"]]
        if row["fill"]:
            assert drawn["fill"] == "#" + row["fill"].lstrip("#").lower()
    assert classes["AK"]["fill"] == "#b98444"
    assert classes["W"]["fill"] == "#b3d7f1", "the palette's ##b3d7f1 typo is mended"


def test_plan_style_passes_the_accessibility_check() -> None:
    catalogue = StyleCatalogue(ROOT / "styles")
    style = catalogue.get("kaava-alueet")
    assert style is not None
    assert style.property == "marking"
    assert catalogue.check(style) == []


def test_swedish_plan_style_is_generated_from_the_catalogue_and_passes_the_check() -> None:
    committed = json.loads((ROOT / "styles" / "detaljplan-omraden.json")
                           .read_text(encoding="utf-8"))
    assert style_from_catalogue() == committed
    uses = {p["beteckning"].strip("#"): p["farg"] for p in boverket().values()
            if p["bestammelsetyp"] == "Användningsbestämmelse"}
    classes = {c["symbol"]: c for c in committed["classes"] if c.get("symbol")}
    assert set(classes) == set(uses) == {"B", "E", "J", "R", "SKYDD"}
    for code, colour in uses.items():
        assert classes[code]["fill"] == COLOURS[colour], code
    catalogue = StyleCatalogue(ROOT / "styles")
    style = catalogue.get("detaljplan-omraden")
    assert style is not None and catalogue.check(style) == []


def test_shipped_catalogue_excerpt_is_boverkets(shared: Path) -> None:
    source = json.loads((shared / CATALOGUE).read_text(encoding="utf-8"))
    shipped = boverket()
    assert set(shipped) == {p["id"] for p in source["bestammelser"]}
    for provision in source["bestammelser"]:
        for key, value in shipped[provision["id"]].items():
            assert provision[key] == value, (provision["id"], key)


def test_ryhti_codes_keep_their_uri_and_get_labels() -> None:
    known = ryhti_code("http://uri.suomi.fi/codelist/rytj/kaavaelinkaari/code/06")
    assert (known.code, known.label["en"], known.known) == ("06", "Approved plan", True)
    unknown = ryhti_code("http://uri.suomi.fi/codelist/rytj/RY_Kaavamaarayslaji/code/uusi")
    assert (unknown.code, unknown.label, unknown.known) == ("uusi", {}, False)
    assert unknown.uri.endswith("/code/uusi")

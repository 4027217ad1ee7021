"""Styles: WCAG contrast arithmetic, the style rules, file validation, the demo styles, the CLI."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from click.testing import CliRunner, Result

from tests.conftest import ROOT
from webmap.cli import main
from webmap.maps import MapRegistry
from webmap.styles import (
    Style,
    StyleCatalogue,
    StyleError,
    blend,
    check_style,
    contrast_ratio,
    load_basemap_palettes,
    load_style,
    load_styles,
    parse_style,
    relative_luminance,
)

LIGHT = {"light": ("#f2efe9", "#aad3df", "#ffffff")}
"""Demo base-map land, water and white."""
DEMO_STYLES = ROOT / "styles"
DEMO_PLAN = ROOT / "layers" / "demo" / "qaava-asemakaava" / "asemakaava.gpkg"
LEGEND = {"fi": "Luokka", "sv": "Klass", "en": "Class"}


def klass(class_id: str, **fields: Any) -> dict[str, Any]:
    """A class dict: dark outline on a pale fill unless ``fields`` say otherwise."""
    return {"id": class_id, "fill": "#f3c6a5", "fill_opacity": 0.7, "stroke": "#3a1a00",
            "stroke_width": 2, "legend": LEGEND, **fields}


def style_data(*classes: dict[str, Any], geometry: str = "polygon",
               style_id: str = "test") -> dict[str, Any]:
    """A style dict with these classes, picked by the attribute ``kind``."""
    return {"id": style_id, "geometry": geometry, "title": {"fi": "Testi", "en": "Test"},
            "property": "kind", "classes": list(classes)}


def make_style(*classes: dict[str, Any], geometry: str = "polygon") -> Style:
    """A parsed style with these classes."""
    return parse_style(style_data(*classes, geometry=geometry), style_id="test")


@pytest.fixture
def write_json() -> Callable[[Path, Any], Path]:
    """``write_json(path, data)`` writes ``data`` as UTF-8 JSON, making folders."""

    def write(path: Path, data: Any) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path

    return write


def map_data(map_id: str, base: dict[str, Any], *styles: str) -> dict[str, Any]:
    """A minimal map definition whose layers use ``styles``."""
    return {"id": map_id, "title": {"en": map_id}, "extent": [24.9, 60.1, 25.0, 60.2],
            "base": base,
            "layers": [{"layer": f"layer-{i}", "style": s} for i, s in enumerate(styles)]}


# -- colour arithmetic ----------------------------------------------------------------------

def test_relative_luminance_of_white_black_and_grey() -> None:
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    assert relative_luminance("#000000") == pytest.approx(0.0)
    assert relative_luminance("#808080") == pytest.approx(0.2159, abs=1e-4)


def test_contrast_ratio_known_values() -> None:
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#3366CC", "#3366cc") == pytest.approx(1.0)


def test_blend_paints_the_top_colour_at_its_opacity() -> None:
    assert blend("#000000", "#ffffff", 0.5) == "#808080"
    assert blend("#ff0000", "#0000ff", 1.0) == "#ff0000"
    assert blend("#ff0000", "#0000FF", 0.0) == "#0000ff"
    assert blend(None, "#aad3df", 0.7) == "#aad3df"
    assert blend("#f3c6a5", "#aad3df", 0.7) == "#ddcab6"


# -- the rules ------------------------------------------------------------------------------

def test_a_good_style_has_no_issues() -> None:
    style = make_style(klass("housing", values=["A"], symbol="A"),
                       klass("park", values=["V"], fill="#b8dea2", stroke="#123f14",
                             pattern="dots", symbol="V"),
                       klass("other", fill="#ffffff", dash=[6, 3]))
    assert check_style(style, LIGHT) == []


def test_a_pale_outline_is_rejected_naming_class_colours_and_ratio() -> None:
    style = make_style(klass("residential", fill=None, stroke="#c8c8c8"))
    issues = check_style(style, {"finland": ("#f4f1ea", "#ffffff")})
    assert [i.rule for i in issues] == ["base-contrast"]
    message = str(issues[0])
    assert message == ("test: class 'residential' stroke #c8c8c8 has 1.4:1 against base "
                       "'finland' colour #f4f1ea (needs 3:1); 1 more colours of this base fail")
    assert issues[0].ratio == pytest.approx(contrast_ratio("#c8c8c8", "#f4f1ea"), abs=0.1)


def test_a_strong_fill_stands_in_for_a_pale_outline() -> None:
    style = make_style(klass("dark", fill="#2b2b2b", fill_opacity=1.0, stroke="#c8c8c8"))
    assert check_style(style, {"white": ("#ffffff",)}) == []


def test_fill_opacity_is_blended_over_the_base() -> None:
    """Black at 20 % over white is #cccccc (1.6:1); opaque it is 21:1."""
    faint = make_style(klass("faint", fill="#000000", fill_opacity=0.2, stroke=None))
    issues = check_style(faint, {"white": ("#ffffff",)})
    assert len(issues) == 1
    assert "no stroke and fill #000000 at 20% has 1.6:1 against base 'white'" in issues[0].message
    solid = make_style(klass("solid", fill="#000000", fill_opacity=1.0, stroke=None))
    assert check_style(solid, {"white": ("#ffffff",)}) == []


def test_the_outline_must_show_on_every_base_colour() -> None:
    """#595959 is 7:1 on white but 2.2:1 on dark grey #222222."""
    style = make_style(klass("grey", fill=None, stroke="#595959"))
    assert check_style(style, {"light": ("#ffffff",)}) == []
    issues = check_style(style, {"light": ("#ffffff",), "night": ("#ffffff", "#222222")})
    assert len(issues) == 1
    assert "against base 'night' colour #222222" in issues[0].message


def test_classes_differing_only_in_colour_are_rejected_naming_both() -> None:
    style = make_style(klass("red", values=["r"], fill="#f4a6a6", stroke="#7a0f14"),
                       klass("blue", values=["b"], fill="#a6d4f2", stroke="#0a3a63"))
    issues = check_style(style, LIGHT)
    assert [i.rule for i in issues] == ["colour-only"]
    assert issues[0].classes == ("red", "blue")
    assert issues[0].message == (
        "test: classes 'red' and 'blue' differ only in colour (#f4a6a6/#7a0f14 and "
        "#a6d4f2/#0a3a63); give them a different pattern, dash, marker or symbol (WCAG 1.4.1)")


@pytest.mark.parametrize("cue", [{"pattern": "hatch"}, {"symbol": "R"}, {"dash": [4, 2]}])
def test_any_non_colour_cue_sets_classes_apart(cue: dict[str, Any]) -> None:
    style = make_style(klass("red", values=["r"], fill="#f4a6a6", **cue),
                       klass("blue", values=["b"], fill="#a6d4f2"))
    assert check_style(style, LIGHT) == []


def test_identical_classes_look_the_same() -> None:
    style = make_style(klass("one", values=["1"]), klass("two", values=["2"]))
    issues = check_style(style, LIGHT)
    assert [i.rule for i in issues] == ["colour-only"]
    assert "classes 'one' and 'two' look alike" in issues[0].message


def test_neighbouring_areas_need_a_visible_boundary() -> None:
    """Strokes that show on the white base (4.5:1) but not on the grey fill next door."""
    pale = {"fill_opacity": 1.0, "stroke": "#767676"}
    style = make_style(klass("a", values=["a"], fill="#ffffff", symbol="A", **pale),
                       klass("b", values=["b"], fill="#d0d0d0", symbol="B", **pale))
    issues = [i for i in check_style(style, {"white": ("#ffffff",)}) if i.rule == "class-contrast"]
    assert len(issues) == 1
    assert issues[0].classes == ("a", "b")
    assert "classes 'a' and 'b' cannot be told apart" in issues[0].message
    assert ("fills #ffffff and #d0d0d0 have 1.5:1 and stroke #767676 has 2.9:1 against fill "
            "#d0d0d0 (needs 3:1)") in issues[0].message
    darker = make_style(klass("a", values=["a"], fill="#ffffff", symbol="A", **pale),
                        klass("b", values=["b"], fill="#d0d0d0", symbol="B", fill_opacity=1.0,
                              stroke="#595959"))
    assert [i.rule for i in check_style(darker, {"white": ("#ffffff",)})] == ["class-contrast"]
    dark = {"fill_opacity": 1.0, "stroke": "#595959"}
    fixed = make_style(klass("a", values=["a"], fill="#ffffff", symbol="A", **dark),
                       klass("b", values=["b"], fill="#d0d0d0", symbol="B", **dark))
    assert check_style(fixed, {"white": ("#ffffff",)}) == []


def test_fills_far_apart_need_no_boundary() -> None:
    style = make_style(klass("light", values=["l"], fill="#ffffff", fill_opacity=1.0,
                             stroke="#000000", symbol="L"),
                       klass("dark", values=["d"], fill="#1a1a1a", fill_opacity=1.0,
                             stroke="#000000", symbol="D", symbol_color="#ffffff"))
    assert [i.rule for i in check_style(style, LIGHT)] == []


def test_a_pattern_must_show_on_its_fill() -> None:
    style = make_style(klass("park", fill="#b8dea2", fill_opacity=1.0, pattern="dots",
                             pattern_color="#a0c890"))
    issues = check_style(style, LIGHT)
    assert [i.rule for i in issues] == ["pattern-contrast"]
    assert "class 'park' dots pattern #a0c890 has 1.2:1 against its fill #b8dea2" in str(issues[0])


def test_a_symbol_is_text_and_needs_4_5_to_1() -> None:
    style = make_style(klass("housing", symbol="A", symbol_color="#8a8a8a", fill="#ffffff"))
    issues = check_style(style, {"white": ("#ffffff",)})
    assert [i.rule for i in issues] == ["symbol-contrast"]
    assert "symbol 'A' in #8a8a8a has 3.4:1" in issues[0].message
    assert "needs 4.5:1 for text" in issues[0].message


def test_lines_are_told_apart_by_dash_and_need_contrast() -> None:
    line = {"stroke_width": 3, "legend": LEGEND}
    solid = {"id": "road", "values": ["road"], "stroke": "#8c1c13", **line}
    dashed = {"id": "path", "values": ["path"], "stroke": "#7a2c1c", "dash": [4, 2], **line}
    assert check_style(make_style(solid, dashed, geometry="line"), LIGHT) == []
    pale = {"id": "track", "values": ["track"], "stroke": "#dddddd", "symbol": "t", **line}
    issues = check_style(make_style(solid, pale, geometry="line"), LIGHT)
    assert [i.rule for i in issues] == ["base-contrast"]
    assert "class 'track' stroke #dddddd" in issues[0].message
    same = {**dashed, "dash": None}
    assert [i.rule for i in check_style(make_style(solid, same, geometry="line"), LIGHT)] == [
        "colour-only"]


def test_points_are_told_apart_by_marker_shape() -> None:
    point = {"fill": "#083d6b", "stroke": "#ffffff", "legend": LEGEND}
    stop = {"id": "stop", "values": ["stop"], "marker": "square", **point}
    lamp = {"id": "lamp", "values": ["lamp"], "marker": "circle", **point, "fill": "#4b2168"}
    assert check_style(make_style(stop, lamp, geometry="point"), LIGHT) == []
    issues = check_style(make_style(stop, {**lamp, "marker": "square"}, geometry="point"), LIGHT)
    assert [(i.rule, i.classes) for i in issues] == [("colour-only", ("stop", "lamp"))]


def test_class_for_picks_listed_values_then_the_default() -> None:
    style = make_style(klass("housing", values=["A", "AK"], symbol="A"),
                       klass("numbered", values=[7], symbol="7"), klass("other", symbol="?"))
    assert style.class_for("AK").id == "housing"  # type: ignore[union-attr]
    assert style.class_for(7).id == "numbered"  # type: ignore[union-attr]
    assert style.class_for("Z").id == "other"  # type: ignore[union-attr]
    assert style.class_for(None).id == "other"  # type: ignore[union-attr]
    assert make_style(klass("only", values=["A"])).class_for("B") is None


# -- files ----------------------------------------------------------------------------------

BAD_STYLES = [
    ("{ not json", "not valid JSON"),
    ([1, 2], "a style is a JSON object"),
    ({**style_data(klass("a")), "geometry": "area"}, "test.json.geometry: use one of polygon"),
    ({k: v for k, v in style_data(klass("a")).items() if k != "geometry"}, "test.json.geometry"),
    ({k: v for k, v in style_data(klass("a")).items() if k != "title"}, "test.json.title"),
    ({**style_data(klass("a")), "id": "other"}, "test.json.id: 'other' must match"),
    ({**style_data(klass("a")), "colour": "#ffffff"}, "test.json.colour: not a style field"),
    (style_data(klass("a", fill="#fff")), "classes[0].fill: '#fff' is not a colour"),
    (style_data(klass("a", stroke="red")), "classes[0].stroke: 'red' is not a colour"),
    (style_data(klass("a", pattern="zigzag")), "classes[0].pattern: use one of none, hatch"),
    (style_data(klass("a", fill_opacty=0.5)), "classes[0].fill_opacty: not a field"),
    (style_data(klass("a", fill_opacity=1.5)), "classes[0].fill_opacity: give a number"),
    (style_data(klass("a", dash=[4])), "classes[0].dash: give dash and gap lengths"),
    (style_data(klass("a", fill=None, stroke=None)), "classes[0]: give a fill or a stroke"),
    (style_data(klass("a", marker="star")), "classes[0].marker: not a field of a polygon"),
    (style_data({"id": "a", "fill": "#000000", "marker": "star", "legend": LEGEND},
                geometry="point"), "classes[0].marker: use one of circle, square"),
    (style_data({"id": "a", "stroke": "#000000", "fill": "#ffffff", "legend": LEGEND},
                geometry="line"), "classes[0].fill: not a field of a line class"),
    (style_data({"id": "a", "legend": LEGEND, "stroke": None}, geometry="line"),
     "classes[0].stroke: a line class needs a stroke"),
    (style_data({k: v for k, v in klass("a").items() if k != "legend"}),
     "classes[0].legend: is required"),
    (style_data(klass("a", legend={"de": "Klasse"})), "classes[0].legend: unknown language"),
    (style_data(klass("a", values=["x"]), klass("a", values=["y"], symbol="Y")),
     "classes[1].id: 'a' is used by another class"),
    (style_data(klass("a", values=["x"]), klass("b", values=["x"], symbol="B")),
     "classes[1].values: 'x' is already in class 'a'"),
    (style_data(klass("a"), klass("b", symbol="B")), "classes[1].values: only one class"),
    ({**style_data(klass("a", values=["x"]), klass("b", symbol="B")), "property": None},
     "test.json.property: a style with several classes"),
    ({**style_data(), "classes": []}, "test.json.classes: give a non-empty list"),
]


@pytest.mark.parametrize(("content", "mentions"), BAD_STYLES,
                         ids=[m.split(": ")[0] + f"-{i}" for i, (_, m) in enumerate(BAD_STYLES)])
def test_invalid_style_files_name_the_file_and_field(tmp_path: Path, content: Any,
                                                     mentions: str) -> None:
    path = tmp_path / "test.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    with pytest.raises(StyleError) as caught:
        load_style(path)
    assert "test.json" in str(caught.value)
    assert mentions in str(caught.value)


def test_a_file_name_must_be_a_usable_id(tmp_path: Path,
                                         write_json: Callable[[Path, Any], Path]) -> None:
    path = write_json(tmp_path / "Bad Name.json", {**style_data(klass("a")), "id": "Bad Name"})
    with pytest.raises(StyleError, match="Bad Name.json: name the file with a-z"):
        load_style(path)


def test_load_styles_reads_every_file_by_id(tmp_path: Path,
                                            write_json: Callable[[Path, Any], Path]) -> None:
    write_json(tmp_path / "b.json", style_data(klass("a"), style_id="b"))
    write_json(tmp_path / "a.json", {k: v for k, v in style_data(klass("a")).items() if k != "id"})
    write_json(tmp_path / "basemaps" / "light.json", {"background": "#ffffff", "layers": []})
    styles = load_styles(tmp_path)
    assert list(styles) == ["a", "b"]
    assert styles["a"].id == "a"
    assert styles["b"].classes[0].fill == "#f3c6a5"
    with pytest.raises(StyleError, match="no styles directory"):
        load_styles(tmp_path / "missing")


def test_basemap_palette_is_background_fills_and_strokes(
        tmp_path: Path, write_json: Callable[[Path, Any], Path]) -> None:
    write_json(tmp_path / "finland.json", {
        "background": "#F2EFE9", "attribution": "test",
        "layers": [{"layer": "water", "fill": "#aad3df", "stroke": None, "minzoom": 3},
                   {"layer": "roads", "fill": None, "stroke": "#ffffff", "width": 2},
                   {"layer": "lakes", "fill": "#aad3df"}]})
    assert load_basemap_palettes(tmp_path) == {"finland": ("#f2efe9", "#aad3df", "#ffffff")}
    assert load_basemap_palettes(tmp_path / "missing") == {}
    write_json(tmp_path / "bad.json", {"background": "#ffffff",
                                       "layers": [{"layer": "x"}, {"fill": "grey"}]})
    with pytest.raises(StyleError, match=r"bad.json.layers\[1\].fill: 'grey' is not a colour"):
        load_basemap_palettes(tmp_path)


# -- styles over the maps that use them -----------------------------------------------------

def check_styles(styles: Path, layers: Path) -> list[Any]:
    """What ``webmap styles check`` finds for the file maps in ``layers/maps``."""
    return StyleCatalogue(styles).check_maps(MapRegistry(layers / "maps").all())


@pytest.fixture
def project(tmp_path: Path, write_json: Callable[[Path, Any], Path]) -> tuple[Path, Path]:
    """A styles dir with one light base map and a layers dir with two maps; (styles, layers)."""
    styles, layers = tmp_path / "styles", tmp_path / "layers"
    write_json(styles / "basemaps" / "light.json",
               {"background": "#ffffff", "layers": [{"layer": "water", "fill": "#aad3df"}]})
    grey = {"id": "grey", "fill": None, "stroke": "#595959", "stroke_width": 2, "legend": LEGEND}
    write_json(styles / "outline.json", style_data(grey, style_id="outline"))
    write_json(styles / "unused.json", style_data(grey, style_id="unused"))
    write_json(layers / "maps" / "day.json",
               map_data("day", {"type": "rendered", "basemap": "light"}, "outline"))
    write_json(layers / "maps" / "night.json",
               map_data("night", {"type": "xyz", "url": "https://tiles.example/{z}/{x}/{y}.png",
                                  "attribution": "x", "palette": ["#222222"]},
                        "outline", "missing"))
    return styles, layers


def test_styles_are_checked_over_the_bases_of_their_maps(project: tuple[Path, Path]) -> None:
    issues = check_styles(*project)
    assert sorted((i.rule, i.style) for i in issues) == [
        ("base-contrast", "outline"), ("missing-style", "missing")]
    contrast = next(i for i in issues if i.rule == "base-contrast")
    assert "against base 'night (xyz)' colour #222222" in contrast.message
    missing = next(i for i in issues if i.rule == "missing-style")
    assert "map 'night': layer 'layer-1' uses style 'missing', which is not in" in missing.message


def test_a_missing_base_map_is_a_warning_and_falls_back(project: tuple[Path, Path],
                                                        write_json: Callable[[Path, Any], Path]
                                                        ) -> None:
    styles, layers = project
    write_json(layers / "maps" / "night.json",
               map_data("night", {"type": "rendered", "basemap": "dark"}, "outline"))
    issues = check_styles(styles, layers)
    assert [(i.rule, i.severity) for i in issues] == [("missing-basemap", "warning")]
    assert "map 'night': base map 'dark' has no file" in issues[0].message
    assert "checked against 'light' instead" in issues[0].message


def test_unused_styles_are_checked_against_every_base_map_or_white(
        tmp_path: Path, write_json: Callable[[Path, Any], Path]) -> None:
    styles = tmp_path / "styles"
    write_json(styles / "pale.json", style_data(
        {"id": "pale", "fill": None, "stroke": "#bbbbbb", "legend": LEGEND}, style_id="pale"))
    issues = check_styles(styles, tmp_path / "layers")
    assert [i.rule for i in issues] == ["base-contrast"]
    assert "against base 'white' colour #ffffff" in issues[0].message
    write_json(styles / "basemaps" / "dusk.json", {"background": "#444444", "layers": []})
    assert check_styles(styles, tmp_path / "layers") == []


# -- the demo styles ------------------------------------------------------------------------

def test_the_demo_styles_pass() -> None:
    styles = load_styles(DEMO_STYLES)
    assert {"asemakaava-alueet", "asemakaava-osa-alueet", "districts", "places"} <= set(styles)
    palettes = {**LIGHT, **load_basemap_palettes(DEMO_STYLES / "basemaps")}
    for style in styles.values():
        assert check_style(style, palettes) == [], style.id
    errors = [i for i in check_styles(DEMO_STYLES, ROOT / "layers") if i.severity == "error"]
    assert errors == []


@pytest.mark.parametrize(("layer", "attribute", "style_id", "count"), [
    ("asemakaava_maankaytto", "maankaytto_asemakaava_kaavamerkinta", "asemakaava-alueet", 80),
    ("asemakaava_osa_alueet", "osa_alueet_asemakaava_kaavamerkinta", "asemakaava-osa-alueet", 64),
])
def test_every_demo_plan_marking_is_in_a_named_class(tmp_path: Path, layer: str, attribute: str,
                                                     style_id: str, count: int) -> None:
    copy = Path(shutil.copy(DEMO_PLAN, tmp_path / "plan.gpkg"))
    values = set(pyogrio.read_dataframe(copy, layer=layer, columns=[attribute],
                                        read_geometry=False)[attribute])
    style = load_style(DEMO_STYLES / f"{style_id}.json")
    assert style.property == attribute
    assert len(values) == count
    unlisted = {v for v in values if (found := style.class_for(v)) is None or found.values is None}
    assert unlisted == set()


def test_the_land_use_classes_follow_the_plan_letters() -> None:
    style = load_style(DEMO_STYLES / "asemakaava-alueet.json")
    symbols = {c.symbol for c in style.classes}
    assert {"A", "K", "Y", "P", "T", "V", "L", "E", "S", "M", "R", "W"} <= symbols
    assert style.class_for("Asuinkerrostalojen korttelialue").symbol == "A"  # type: ignore[union-attr]
    assert style.class_for("Vesialue").symbol == "W"  # type: ignore[union-attr]
    for cls in style.classes:
        assert set(cls.legend) == {"fi", "sv", "en"}, cls.id


# -- the command ----------------------------------------------------------------------------

def run(*args: str | Path, layers_dir: Path) -> Result:
    """``webmap`` in-process with WEBMAP_LAYERS_DIR set."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False,
                              env={"WEBMAP_LAYERS_DIR": str(layers_dir),
                                   "WEBMAP_DATA_DIR": tempfile.mkdtemp(prefix="webmap-"),
                                   "WEBMAP_DATABASE_URL": ""})


def test_cli_check_prints_each_issue_and_exits_1(project: tuple[Path, Path]) -> None:
    styles, layers = project
    result = run("styles", "check", "--styles", styles, layers_dir=layers)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert any(line.startswith("outline: class 'grey' stroke #595959 has 2.2:1") for line in lines)
    assert any("uses style 'missing'" in line for line in lines)
    assert "OK" not in result.stdout


def test_cli_check_reports_the_demo_bases_on_a_fresh_data_folder() -> None:
    """No demo layers imported: the demo maps' bases would draw empty, so they fail."""
    result = run("styles", "check", "--styles", DEMO_STYLES, layers_dir=ROOT / "layers")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "maps 'paimio-asemakaava', 'ryhti-testikaava': base map 'finland' is not offered: "
        "its layer municipalities is not imported (make one with `webmap basemap build`)",
        "map 'helsinki-keskusta': base map 'helsinki-osm' is not offered: its layers "
        "helsinki-osm-green, helsinki-osm-water, helsinki-osm-buildings, helsinki-osm-streets, "
        "helsinki-osm-places are not imported (make one with `webmap basemap build`)"]


def test_cli_check_refuses_an_invalid_file_with_exit_2(tmp_path: Path,
                                                      write_json: Callable[[Path, Any], Path]
                                                      ) -> None:
    write_json(tmp_path / "broken.json", style_data(klass("a", fill="blue"), style_id="broken"))
    result = run("styles", "check", "--styles", tmp_path, layers_dir=tmp_path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == ("error: broken.json.classes[0].fill: 'blue' is not a colour "
                                     "like #rrggbb")


def test_cli_list_shows_each_style() -> None:
    result = run("styles", "list", "--styles", DEMO_STYLES, layers_dir=ROOT / "layers")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert ["places", "point", "4 classes", "Places"] in rows
    assert ["districts", "polygon", "1 class", "Districts"] in rows

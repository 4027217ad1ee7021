"""The accessibility check: every class against its base maps and against the other classes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ..maps.model import MapDefinition
from .colour import contrast_ratio, ratio_text
from .model import Style, StyleClass, parse_colour

Rule = Literal["base-contrast", "pattern-contrast", "symbol-contrast", "class-contrast",
               "colour-only", "missing-style", "missing-basemap"]
NON_TEXT_RATIO = 3.0
"""WCAG 1.4.11: outlines, patterns and markers against what is next to them."""
TEXT_RATIO = 4.5
"""WCAG 1.4.3: a class's symbol is text."""
WHITE: Mapping[str, tuple[str, ...]] = {"white": ("#ffffff",)}
"""The base to check against when there is no base map at all."""


@dataclass(frozen=True, kw_only=True)
class StyleIssue:
    """One failed rule; ``message`` names the style, the classes, the colours and the ratio."""

    style: str
    rule: Rule
    message: str
    classes: tuple[str, ...] = ()
    ratio: float | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return self.message


Measure = Callable[[str, str], "tuple[float, str] | None"]
"""For one base colour and its description: ``None`` when the rule holds, else (ratio, text)."""


def _worst(style: Style, rule: Rule, classes: tuple[str, ...],
           palettes: Mapping[str, Sequence[str]], measure: Measure) -> list[StyleIssue]:
    """One issue per base map, for its worst colour, saying how many others fail too."""
    issues = []
    for base, colours in palettes.items():
        failures = []
        for colour in colours:
            found = measure(colour, f"base {base!r} colour {colour}")
            if found is not None:
                failures.append(found)
        if not failures:
            continue
        ratio, text = min(failures)
        more = f"; {len(failures) - 1} more colours of this base fail" if len(failures) > 1 else ""
        issues.append(StyleIssue(style=style.id, rule=rule, classes=classes, ratio=ratio,
                                 message=f"{style.id}: {text}{more}"))
    return issues


def _base_contrast(style: Style, cls: StyleClass,
                   palettes: Mapping[str, Sequence[str]]) -> list[StyleIssue]:
    """The feature must stand out from the base map: its outline, or failing that its fill."""
    def measure(base: str, where: str) -> tuple[float, str] | None:
        line = contrast_ratio(cls.outline, base) if cls.outline else None
        area = (contrast_ratio(cls.surface(base), base)
                if style.geometry != "line" and cls.fill else None)
        best = max(line or 1.0, area or 1.0)
        if best >= NON_TEXT_RATIO:
            return None
        parts = [f"stroke {cls.outline} has {ratio_text(line)}" if line is not None
                 else "no stroke"]
        if area is not None:
            parts.append(f"fill {cls.fill} at {cls.fill_opacity:.0%} has {ratio_text(area)}")
        return best, (f"class {cls.id!r} {' and '.join(parts)} against {where} "
                      f"(needs {NON_TEXT_RATIO:g}:1)")
    return _worst(style, "base-contrast", (cls.id,), palettes, measure)


def _pattern_contrast(style: Style, cls: StyleClass,
                      palettes: Mapping[str, Sequence[str]]) -> list[StyleIssue]:
    """A pattern is the cue that replaces colour, so it must show on its own fill."""
    pattern = cls.pattern_color
    if pattern is None:
        return []

    def measure(base: str, where: str) -> tuple[float, str] | None:
        ratio = contrast_ratio(pattern, cls.surface(base))
        if ratio >= NON_TEXT_RATIO:
            return None
        return ratio, (f"class {cls.id!r} {cls.pattern} pattern {pattern} has {ratio_text(ratio)} "
                       f"against its fill {cls.surface(base)} over {where} "
                       f"(needs {NON_TEXT_RATIO:g}:1)")
    return _worst(style, "pattern-contrast", (cls.id,), palettes, measure)


def _symbol_contrast(style: Style, cls: StyleClass,
                     palettes: Mapping[str, Sequence[str]]) -> list[StyleIssue]:
    """A symbol is text drawn inside an area or marker (beside a line): 4.5:1."""
    if cls.symbol is None:
        return []

    def measure(base: str, where: str) -> tuple[float, str] | None:
        ground = base if style.geometry == "line" else cls.surface(base)
        ratio = contrast_ratio(cls.symbol_color, ground)
        if ratio >= TEXT_RATIO:
            return None
        return ratio, (f"class {cls.id!r} symbol {cls.symbol!r} in {cls.symbol_color} has "
                       f"{ratio_text(ratio)} against {ground} over {where} "
                       f"(needs {TEXT_RATIO:g}:1 for text)")
    return _worst(style, "symbol-contrast", (cls.id,), palettes, measure)


def _class_contrast(style: Style, first: StyleClass, second: StyleClass,
                    palettes: Mapping[str, Sequence[str]]) -> list[StyleIssue]:
    """Where two areas meet, their fills must differ or every boundary stroke show on both."""
    strokes = [s for s in (first.outline, second.outline) if s]

    def measure(base: str, where: str) -> tuple[float, str] | None:
        fills = first.surface(base), second.surface(base)
        between = contrast_ratio(*fills)
        edge, stroke, fill = min(((contrast_ratio(s, f), s, f) for s in strokes for f in fills),
                                 default=(1.0, "none", fills[0]))
        if max(between, edge) >= NON_TEXT_RATIO:
            return None
        return max(between, edge), (
            f"classes {first.id!r} and {second.id!r} cannot be told apart where they meet over "
            f"{where}: fills {fills[0]} and {fills[1]} have {ratio_text(between)} and stroke "
            f"{stroke} has {ratio_text(edge)} against fill {fill} (needs {NON_TEXT_RATIO:g}:1)")
    return _worst(style, "class-contrast", (first.id, second.id), palettes, measure)


def _colour_only(style: Style, first: StyleClass, second: StyleClass) -> list[StyleIssue]:
    """Two classes need a cue besides colour: a different pattern, dash, marker or symbol."""
    if first.cues != second.cues:
        return []
    colours = [f"{c.fill or 'no fill'}/{c.stroke or 'no stroke'}" for c in (first, second)]
    how = (f"differ only in colour ({colours[0]} and {colours[1]})"
           if colours[0] != colours[1] else "look alike")
    return [StyleIssue(
        style=style.id, rule="colour-only", classes=(first.id, second.id),
        message=f"{style.id}: classes {first.id!r} and {second.id!r} {how}; give them a "
                "different pattern, dash, marker or symbol (WCAG 1.4.1)")]


def check_style(style: Style, base_palettes: Mapping[str, Sequence[str]]) -> list[StyleIssue]:
    """Every accessibility issue of ``style`` drawn over each named base-map palette."""
    palettes = {name: [parse_colour(c, f"base {name!r}") for c in colours]
                for name, colours in base_palettes.items()}
    issues: list[StyleIssue] = []
    for cls in style.classes:
        issues += _base_contrast(style, cls, palettes)
        issues += _pattern_contrast(style, cls, palettes)
        issues += _symbol_contrast(style, cls, palettes)
    for first, second in itertools.combinations(style.classes, 2):
        if style.geometry == "polygon":
            issues += _class_contrast(style, first, second, palettes)
        issues += _colour_only(style, first, second)
    return issues


def map_palettes(definition: MapDefinition, basemaps: Mapping[str, tuple[str, ...]],
                 fallback: Mapping[str, tuple[str, ...]]
                 ) -> tuple[dict[str, tuple[str, ...]], list[StyleIssue]]:
    """The palettes a map's styles are drawn over, and a warning when its base has none."""
    base = definition.base
    if base.kind == "rendered" and base.basemap in basemaps:
        found = {str(base.basemap): basemaps[str(base.basemap)]}
        variant = f"{base.basemap}-contrast"  # the high-contrast variant residents may pick
        if variant in basemaps:
            found[variant] = basemaps[variant]
        return found, []
    if base.kind != "rendered" and base.palette:
        return {f"{definition.id} ({base.kind})": base.palette}, []
    missing = (f"base map {base.basemap!r} has no file basemaps/{base.basemap}.json"
               if base.kind == "rendered" else f"its {base.kind} base lists no palette")
    return dict(fallback), [StyleIssue(
        style="", rule="missing-basemap", severity="warning",
        message=f"map {definition.id!r}: {missing}; its styles are checked against "
                f"{', '.join(repr(name) for name in fallback)} instead")]


def check_maps(styles: Mapping[str, Style], maps: Iterable[MapDefinition],
               basemaps: Mapping[str, tuple[str, ...]], *, where: str = "the styles"
               ) -> list[StyleIssue]:
    """Check each style over the base maps of the maps using it (unused: over every base map)."""
    fallback = basemaps or dict(WHITE)
    issues: list[StyleIssue] = []
    used: dict[str, dict[str, tuple[str, ...]]] = {}
    for definition in maps:
        palettes, notes = map_palettes(definition, basemaps, fallback)
        issues += notes
        for layer in definition.layers:
            if layer.style in styles:
                used.setdefault(layer.style, {}).update(palettes)
                continue
            issues.append(StyleIssue(
                style=layer.style, rule="missing-style",
                message=f"map {definition.id!r}: layer {layer.layer!r} uses style "
                        f"{layer.style!r}, which is not in {where}"))
    for style_id, style in sorted(styles.items()):
        issues += check_style(style, used.get(style_id, fallback))
    return issues

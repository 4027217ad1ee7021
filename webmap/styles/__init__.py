"""Map styles: one JSON file per style in ``styles/``, and their accessibility check (SPEC §10).

A style draws a layer's features by class: the value of one attribute picks the class, and
each class has a fill, an outline, a pattern or marker, a letter symbol and a legend text per
language. ``check_style`` measures what a reader sees with WCAG 2.x contrast ratios: every
class against the base map (non-text contrast 3:1, WCAG 1.4.11), neighbouring classes against
each other, and that no two classes differ by colour alone (WCAG 1.4.1). ``StyleCatalogue``
loads and defaults every style once for the check, the staff pages and the widget alike.
"""

from .catalogue import StyleCatalogue
from .check import (
    NON_TEXT_RATIO,
    TEXT_RATIO,
    StyleIssue,
    check_maps,
    check_style,
    map_palettes,
)
from .colour import blend, contrast_ratio, relative_luminance
from .model import (
    GEOMETRIES,
    MARKERS,
    PATTERNS,
    Style,
    StyleClass,
    StyleError,
    load_basemap_palettes,
    load_style,
    load_styles,
    parse_colour,
    parse_style,
)

__all__ = [
    "GEOMETRIES", "MARKERS", "NON_TEXT_RATIO", "PATTERNS", "TEXT_RATIO", "Style",
    "StyleCatalogue", "StyleClass", "StyleError", "StyleIssue", "blend", "check_maps",
    "check_style", "contrast_ratio", "load_basemap_palettes", "load_style", "load_styles",
    "map_palettes", "parse_colour", "parse_style", "relative_luminance",
]

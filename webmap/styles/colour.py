"""WCAG 2.x colour arithmetic: relative luminance, contrast ratio and alpha blending."""

from __future__ import annotations

import math
import re

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
"""The one colour notation styles use: ``#rrggbb``."""


def _rgb(colour: str) -> tuple[int, int, int]:
    if not HEX.match(colour):
        raise ValueError(f"{colour!r} is not a colour like #rrggbb")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``: 0 for black, 1 for white."""
    red, green, blue = (_linear(c) for c in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def blend(top: str | None, bottom: str, opacity: float) -> str:
    """``top`` painted at ``opacity`` over ``bottom`` (sRGB, as browsers composite)."""
    if top is None or opacity <= 0:
        return bottom.lower()
    mixed = (round(t * opacity + b * (1 - opacity))
             for t, b in zip(_rgb(top), _rgb(bottom), strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def ratio_text(value: float) -> str:
    """A ratio for messages, rounded down so a failing one never reads as passing."""
    return f"{math.floor(value * 10) / 10:.1f}:1"

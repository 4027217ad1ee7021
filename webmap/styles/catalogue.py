"""Every style and base-map palette, loaded and defaulted once per file version.

The same ``Style`` objects are judged by ``webmap styles check``, listed on the staff pages,
checked when a map is published, and sent to the widget (``browser``) with every drawing
number explicit: what passes the check is what residents see.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..maps.model import MapDefinition
from ..problems import Problem, Unprocessable
from .check import WHITE, StyleIssue, check_maps, check_style, map_palettes
from .model import Style, StyleError, load_basemap_palettes, load_style

log = logging.getLogger("webmap.styles")


@dataclass(frozen=True)
class _Loaded:
    signature: tuple[tuple[str, int, int], ...]
    styles: dict[str, Style] = field(default_factory=dict)
    broken: tuple[str, ...] = ()
    basemaps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    basemap_error: str | None = None


class StyleCatalogue:
    """``styles_dir/*.json`` and the palettes of ``styles_dir/basemaps/*.json``, re-read only
    when a file changes; a style file that cannot be used is listed in ``broken``."""

    def __init__(self, directory: Path,
                 drawn: Callable[[], dict[str, tuple[str, ...]]] | None = None) -> None:
        self.directory = directory
        self._drawn = drawn
        """When given: the palettes of the base maps offered now, as drawn (the base-map
        service's); styles are then judged on the bases residents actually see."""
        self._lock = threading.Lock()
        self._loaded = self._load()

    def _signature(self) -> tuple[tuple[str, int, int], ...]:
        paths = [*sorted(self.directory.glob("*.json")),
                 *sorted((self.directory / "basemaps").glob("*.json"))
                 ] if self.directory.is_dir() else []
        return tuple((str(p.relative_to(self.directory)), p.stat().st_mtime_ns, p.stat().st_size)
                     for p in paths)

    def _load(self) -> _Loaded:
        signature = self._signature()
        styles: dict[str, Style] = {}
        broken: list[str] = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            try:
                styles[path.stem] = load_style(path)
            except StyleError as exc:
                broken.append(str(exc))
        try:
            basemaps, error = load_basemap_palettes(self.directory / "basemaps"), None
        except StyleError as exc:
            basemaps, error = {}, str(exc)
        return _Loaded(signature, styles, tuple(broken), basemaps, error)

    def _current(self) -> _Loaded:
        with self._lock:
            try:
                if self._signature() != self._loaded.signature:
                    self._loaded = self._load()
            except OSError as exc:  # a file vanished while being listed: keep what we have
                log.warning("styles not reloaded: %s", exc)
            return self._loaded

    # -- reading ---------------------------------------------------------------------------
    def all(self) -> dict[str, Style]:
        """Every usable style by id."""
        return dict(self._current().styles)

    def broken(self) -> list[str]:
        """A line for each style file that cannot be used."""
        return list(self._current().broken)

    def get(self, style_id: str) -> Style | None:
        """One style, or None when there is no usable one of that id."""
        return self._current().styles.get(style_id)

    def browser(self, style_id: str) -> dict[str, Any] | None:
        """A style as the widget draws it (every number explicit), or None (logged)."""
        style = self.get(style_id)
        if style is None:
            log.warning("style %s is missing or cannot be used", style_id)
            return None
        return style.to_json()

    def basemaps(self) -> dict[str, tuple[str, ...]]:
        """Each base map's palette by id: as drawn for the bases offered now (where the
        catalogue is told them), the colours its file lists for the rest."""
        loaded = self._current()
        palettes = dict(loaded.basemaps)
        if self._drawn is not None and not loaded.basemap_error:
            palettes.update(self._drawn())
        return palettes

    def offered(self) -> dict[str, tuple[str, ...]]:
        """The palettes of the bases offered now (every base when not told which)."""
        if self._drawn is None:
            return dict(self._current().basemaps)
        if self._current().basemap_error:
            return {}
        return self._drawn()

    def require_usable(self) -> None:
        """Raise ``StyleError`` naming the first file that cannot be used."""
        loaded = self._current()
        if loaded.broken:
            raise StyleError(loaded.broken[0])
        if loaded.basemap_error:
            raise StyleError(loaded.basemap_error)

    # -- checking --------------------------------------------------------------------------
    def check(self, style: Style, palettes: Mapping[str, Sequence[str]] | None = None
              ) -> list[StyleIssue]:
        """The issues of one style over these palettes (default: over every base map)."""
        return check_style(style, palettes or self.basemaps() or dict(WHITE))

    def check_maps(self, maps: Iterable[MapDefinition]) -> list[StyleIssue]:
        """Every style over the bases of the maps that use it (``webmap styles check``)."""
        self.require_usable()
        return check_maps(self.all(), maps, self.basemaps(), where=str(self.directory))


    def check_publish(self, definition: MapDefinition) -> None:
        """What a map's styles and base must satisfy to be published; ``Unprocessable``
        naming the first field at fault."""
        loaded = self._current()
        if loaded.basemap_error:
            log.error("base maps unusable, maps cannot be checked: %s", loaded.basemap_error)
            raise Problem("the service's styles cannot be read; run `webmap styles check`",
                          status=500, title="Styles unusable")
        base = definition.base
        known = self.basemaps()
        if base.kind == "rendered" and base.basemap not in known:
            raise Unprocessable("base.basemap", f"base.basemap: there is no base map "
                                f"{base.basemap!r}; use one of {', '.join(sorted(known))}")
        for i, item in enumerate(definition.layers):
            if item.style not in loaded.styles:
                raise Unprocessable(f"layers[{i}].style", f"layers[{i}].style: there is no "
                                    f"style {item.style!r}; use one of "
                                    f"{', '.join(sorted(loaded.styles))}")
        palettes, _ = map_palettes(definition, known, known or dict(WHITE))
        for i, item in enumerate(definition.layers):
            issues = [issue for issue in check_style(loaded.styles[item.style], palettes)
                      if issue.severity == "error"]
            if issues:
                lines = "\n".join(f"- {issue}" for issue in issues)
                raise Unprocessable(f"layers[{i}].style", f"layers[{i}].style: style "
                                    f"{item.style!r} fails the accessibility check over this "
                                    f"map's base:\n{lines}")

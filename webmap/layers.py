"""Layer services shared by the CLI, the staff API and the staff pages: import a file into the
store, replace a layer that maps use, remove one.

A replacement keeps what staff wrote about the layer (title, attribution, description) unless
new text is given, keeps feature ids where the layer has an id attribute, and is refused when a
map that uses the layer reads an attribute the new file lacks (unless forced). Removing a
layer a map uses is refused unless forced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .ingest import import_source
from .ingest.bounded import ImportLimits, run_bounded
from .maps.checks import fields_used, uses_layer
from .maps.model import MapDefinition, text
from .problems import Conflict, ImportFailed, LayerNotFound
from .store.base import Store
from .store.common import field_type
from .types import ImportReport, LayerInfo, LayerKind, NormalisedLayer

StyleProperty = Callable[[str], str | None]
"""A style id to the attribute that picks its class (None: one class for all)."""


class MapsOfLayer:
    """Which served maps use a layer, and what they read from it."""

    def __init__(self, maps: Any = None, style_property: StyleProperty | None = None) -> None:
        self.maps = maps
        self.style_property = style_property

    def using(self, layer_id: str) -> list[MapDefinition]:
        """Every served map (files and published) that uses ``layer_id``."""
        if self.maps is None:
            return []
        return [m for m in self.maps.all() if uses_layer(m, layer_id)]

    def missing(self, layer_id: str, fields: set[str]) -> list[str]:
        """``map 'x': layers[0].label 'nimi'`` for each attribute a map reads that is not in
        ``fields``."""
        found = []
        for definition in self.using(layer_id):
            for name, where in fields_used(definition, layer_id, self.style_property).items():
                if name not in fields:
                    found.append(f"map {definition.id!r} reads {name!r} ({where})")
        return found


def describe(definition: MapDefinition) -> str:
    """``map 'kaava' (Kaava-ehdotus, consultation open)``."""
    state = ""
    if definition.consultation is not None:
        state = ", consultation open" if definition.consultation.is_open() else ""
    return f"map {definition.id!r} ({text(definition.title, definition.default_language)}{state})"


def _find(store: Store, layer_id: str) -> LayerInfo | None:
    try:
        return store.layer(layer_id)
    except LayerNotFound:
        return None


def import_file(store: Store, path: Path, layer_id: str, *,
                on_progress: Callable[[int, int], None] | None = None,
                attribution: str | None = None, description: str | None = None,
                title: str | None = None, id_field: str | None = None,
                time_field: str | None = None, editable: bool | None = None,
                maps: MapsOfLayer | None = None, force: bool = False,
                keep_fids: bool = False, limits: ImportLimits | None = None,
                **options: Any) -> ImportReport:
    """Read ``path`` (any supported format, sniffed by content) and swap it in as ``layer_id``.

    ``options`` are ``import_source``'s: crs, layer, encoding, x/y/wkt columns. Replacing a
    layer keeps its title, attribution and description where none are given and follows its
    id attribute; ``maps`` (the served maps) makes a replacement that would break one of them
    a ``Conflict`` (409) unless ``force``, and names them in the report's warnings.
    ``keep_fids``: the file's own feature ids are kept (a GeoPackage from a backup).
    ``time_field`` names the date or datetime attribute ``datetime`` filters on (default: the
    replaced version's, if the file still has it, else the first date or datetime attribute).
    ``editable`` lets staff edit its features (Part 4); None keeps the replaced version's
    choice (a new layer is not editable).
    ``limits`` (the settings' pixel, feature and time limits) reads the file in a child process
    stopped after the time limit; without them the file is read here, unbounded in time.
    """
    previous = _find(store, layer_id)
    if previous is not None:
        title = title or previous.title
        attribution = previous.attribution if attribution is None else attribution
        description = previous.description if description is None else description
    if editable is None:
        editable = previous.editable if previous is not None else False
    users = maps.using(layer_id) if maps is not None and previous is not None else []

    def importer(workdir: Path) -> NormalisedLayer:
        arguments: dict[str, Any] = dict(
            path=path, layer_id=layer_id, workdir=workdir, title=title, id_field=id_field,
            previous_id_field=previous.id_field if previous else None, **options)
        layer = (import_source(**arguments, on_progress=on_progress) if limits is None
                 else run_bounded(limits, on_progress, **arguments))
        if keep_fids and layer.report.kind is LayerKind.VECTOR:
            layer.fids = _file_fids(path, options.get("layer"), len(layer.frame))
        if layer.report.kind is LayerKind.VECTOR:
            chosen = _time_field(layer, time_field, previous.time_field if previous else "")
            layer.report = dataclasses.replace(layer.report, time_field=chosen,
                                               time_extent=_time_extent(layer.frame, chosen),
                                               editable=bool(editable))
        elif editable:
            raise ImportFailed("only vector layers are editable; a raster is replaced whole")
        if not users or maps is None:
            return layer
        notes = [f"{describe(m)} uses this layer; check it after the replacement"
                 for m in users]
        if layer.report.kind is LayerKind.VECTOR:
            columns = {str(c) for c in layer.frame.columns}
            broken = maps.missing(layer_id, columns)
            if broken and not force:
                raise Conflict(f"the new file lacks attributes that maps use: "
                               f"{'; '.join(broken)}. Rename them in the file, change the "
                               "maps first, or replace anyway (force)")
            notes += [f"{b}, which the new file lacks" for b in broken]
        layer.report = dataclasses.replace(layer.report,
                                           warnings=layer.report.warnings + tuple(notes))
        return layer

    return store.import_layer(layer_id, importer, attribution=attribution or "",
                              description=description or "")


def _time_field(layer: NormalisedLayer, requested: str | None, previous: str) -> str:
    """The named temporal property, checked to be a date or datetime attribute; without a
    name, the previous version's or the first date or datetime attribute ('' for none)."""
    frame = layer.frame
    if not requested:
        if previous and previous in frame.columns and previous != frame.geometry.name \
                and field_type(frame[previous]) in {"date", "datetime"}:
            return previous
        return next((str(c) for c in frame.columns if c != frame.geometry.name
                     and field_type(frame[c]) in {"date", "datetime"}), "")
    if requested not in frame.columns or requested == frame.geometry.name:
        known = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
        raise ImportFailed(f"--time {requested!r}: the file has no such attribute "
                           f"(it has: {known or 'none'})")
    kind = field_type(frame[requested])
    if kind not in {"date", "datetime"}:
        raise ImportFailed(f"--time {requested!r}: that attribute holds {kind} values, not "
                           "dates or times")
    return requested


def _time_extent(frame: Any, name: str) -> tuple[str | None, str | None]:
    """The first and last value of the temporal property, ISO 8601 (UTC for date-times)."""
    if not name:
        return (None, None)
    values = frame[name].dropna()
    if not len(values):
        return (None, None)
    if field_type(frame[name]) == "date":
        return (min(values).isoformat(), max(values).isoformat())
    stamps = pd.to_datetime(values, utc=True)
    return tuple(s.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
                 for s in (stamps.min(), stamps.max()))


def _file_fids(path: Path, layer: str | None, rows: int) -> Any:
    """The feature ids a GeoPackage holds, in file order; None unless one per row."""
    import pyogrio

    try:
        found = pyogrio.read_dataframe(path, layer=layer, columns=[], read_geometry=False,
                                       fid_as_index=True).index.to_numpy()
    except Exception:  # noqa: BLE001 - a file without ids keeps the numbering of the import
        return None
    return found if len(found) == rows and len(set(found.tolist())) == rows else None


def remove_layer(store: Store, layer_id: str, *, maps: MapsOfLayer | None = None,
                 force: bool = False) -> None:
    """Remove a layer; a ``Conflict`` naming the maps that use it unless ``force``."""
    store.layer(layer_id)  # LayerNotFound first
    users = maps.using(layer_id) if maps is not None else []
    if users and not force:
        names = ", ".join(describe(m) for m in users)
        raise Conflict(f"layer {layer_id!r} is used by {names}; take the layer out of "
                       "these maps first, or remove it anyway (force)")
    store.remove_layer(layer_id)

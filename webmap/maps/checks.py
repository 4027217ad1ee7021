"""What a published map needs beyond its schema from the layers: every layer it names exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..problems import LayerNotFound, Unprocessable
from ..types import Compare, FilterNode, IsNull, ItemQuery, Or, Property
from .model import MapDefinition


def check_layers(definition: MapDefinition, layer: Callable[[str], object]) -> None:
    """Raise ``Unprocessable`` naming the first field whose layer ``layer(id)`` does not find."""
    named = [(f"layers[{i}].layer", item.layer) for i, item in enumerate(definition.layers)]
    named += [(f"search[{i}].layer", source.layer) for i, source in enumerate(definition.search)]
    if definition.base.kind == "layer" and definition.base.layer:
        named.append(("base.layer", definition.base.layer))
    for field, layer_id in named:
        try:
            layer(layer_id)
        except LayerNotFound:
            raise Unprocessable(field, f"{field}: there is no layer {layer_id!r}; import it "
                                       "first") from None


def fields_used(definition: MapDefinition, layer_id: str,
                style_property: Callable[[str], str | None] | None = None
                ) -> dict[str, str]:
    """The attributes of ``layer_id`` the map reads, each with the member that names it:
    labels, panel attributes, the style's class attribute, the search's name fields."""
    used: dict[str, str] = {}
    for i, item in enumerate(definition.layers):
        if item.layer != layer_id:
            continue
        if item.label_field:
            used.setdefault(item.label_field, f"layers[{i}].label")
        for lang, name in item.label_fields.items():
            used.setdefault(name, f"layers[{i}].labels.{lang}")
        for j, name in enumerate(item.attributes):
            used.setdefault(name, f"layers[{i}].attributes[{j}]")
        prop = style_property(item.style) if style_property is not None else None
        if prop:
            used.setdefault(prop, f"style {item.style!r} (layers[{i}].style)")
    for i, source in enumerate(definition.search):
        if source.layer != layer_id:
            continue
        for j, name in enumerate(source.name_fields):
            used.setdefault(name, f"search[{i}].name_fields[{j}]")
        for key in ("street_field", "number_field"):
            value = getattr(source, key)
            if value:
                used.setdefault(value, f"search[{i}].{key}")
    return used


def uses_layer(definition: MapDefinition, layer_id: str) -> bool:
    """Whether the map draws, searches or lies on ``layer_id``."""
    return (any(item.layer == layer_id for item in definition.layers)
            or any(source.layer == layer_id for source in definition.search)
            or (definition.base.kind == "layer" and definition.base.layer == layer_id))


def check_fields(definition: MapDefinition, layer: Callable[[str], Any],
                 style_property: Callable[[str], str | None] | None = None,
                 unnamed: Callable[[Any, str], int] | None = None) -> None:
    """Raise ``Unprocessable`` naming the first member that reads an attribute its layer lacks,
    or a plan layer whose features would be listed without a name.

    ``layer(id)`` is the layer's ``LayerInfo``; ``unnamed(info, field)`` counts the features
    whose ``field`` is empty.
    """
    ids = ({item.layer for item in definition.layers}
           | {source.layer for source in definition.search})
    for layer_id in sorted(ids):
        info = layer(layer_id)
        names = {f.name for f in getattr(info, "fields", ())}
        if getattr(info, "kind", "vector") != "vector":
            continue
        for name, where in fields_used(definition, layer_id, style_property).items():
            if name not in names:
                listed = ", ".join(sorted(names)) or "none"
                raise Unprocessable(where.split(" (")[-1].rstrip(")"),
                                    f"{where}: layer {layer_id!r} has no attribute {name!r}; "
                                    f"its attributes are {listed}")
    for i, item in enumerate(definition.layers):
        if not item.plan:
            continue
        if not item.label_field:
            raise Unprocessable(f"layers[{i}].label", f"layers[{i}].label: choose the "
                                f"attribute that names the features of plan layer "
                                f"{item.layer!r}; without one residents hear only "
                                "'unnamed feature'")
        if unnamed is not None:
            count = unnamed(layer(item.layer), item.label_field)
            if count:
                raise Unprocessable(f"layers[{i}].label", f"layers[{i}].label: {count} "
                                    f"features of {item.layer!r} have no {item.label_field!r}"
                                    "; residents would hear 'unnamed feature' for them. "
                                    "Choose another attribute or fill them in")


def unnamed_count(store: Any, info: Any, name: str) -> int:
    """How many features of a vector layer have no value (or an empty text) in ``name``."""
    field = next((f for f in info.fields if f.name == name), None)
    if field is None:
        return 0
    prop = Property(field.name, field.type)
    condition: FilterNode = IsNull(prop)
    if field.type == "string":
        condition = Or((condition, Compare("=", prop, "")))
    page = store.items(info, ItemQuery(limit=1, filter=condition, count=True))
    return int(page.number_matched or 0)

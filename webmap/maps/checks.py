"""What a published map needs beyond its schema from the layers: every layer it names exists."""

from __future__ import annotations

from collections.abc import Callable

from ..problems import LayerNotFound, Unprocessable
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

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

"""A stored plan as the public API, the CLI and the widget show it.

Metadata, the general regulations and every regulation group with its regulations as values
and as readable text in fi, sv and en (the plan's own texts where it has them, the code lists'
labels otherwise), and links to its layers' feature collections.
"""

from __future__ import annotations

from typing import Any

from .model import RegulationGroup
from .storage import StoredPlan
from .text import with_texts


def _group(data: dict[str, Any]) -> dict[str, Any]:
    return with_texts(RegulationGroup.from_dict(data))


def summary(stored: StoredPlan, *, base: str = "") -> dict[str, Any]:
    """The short form ``GET /plans`` lists."""
    definition = stored.definition
    return {"id": stored.id, "model": stored.model, "name": definition.get("name") or {},
            "identifier": definition.get("identifier"),
            "municipality": definition.get("municipality"),
            "status": definition.get("status"), "updated": stored.updated,
            "links": [{"rel": "self", "type": "application/json",
                       "href": f"{base}/plans/{stored.id}"}]}


def plan_document(stored: StoredPlan, *, base: str = "") -> dict[str, Any]:
    """Everything ``GET /plans/{id}`` answers."""
    definition = stored.definition
    layers = definition.get("layers") or []
    links = [{"rel": "self", "type": "application/json", "href": f"{base}/plans/{stored.id}"}]
    links += [{"rel": "items", "type": "application/geo+json", "title": layer["id"],
               "href": f"{base}/collections/{layer['id']}/items"} for layer in layers]
    links += [{"rel": "collection", "type": "application/json", "title": layer["id"],
               "href": f"{base}/collections/{layer['id']}"} for layer in layers]
    return {
        "id": stored.id, "model": stored.model, "updated": stored.updated,
        **{key: definition.get(key) for key in (
            "name", "identifier", "municipality", "status", "description", "dates",
            "source_crs", "source_key", "boundary", "counts", "warnings")},
        "layers": layers,
        "general_regulations": [_group(g) for g in definition.get("general") or []],
        "regulation_groups": [_group(g) for g in definition.get("groups") or []],
        "links": links,
    }

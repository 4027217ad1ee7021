"""Importing a plan: read it, normalise its objects as layers, store layers and plan.

The CLI (``webmap plans import``) and the staff API (``POST /admin/api/plans``) both call
``PlanService.import_plan``. Everything is read and normalised before anything is written, so
a bad file changes nothing; each layer is then swapped in atomically by the layer store, and the
plan's row last.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..crs import transform_geometries
from ..problems import ImportFailed, LayerNotFound, NotFound
from ..store.base import Importer, Store
from ..styles import StyleCatalogue
from ..types import ImportReport, NormalisedLayer
from .layers import plan_layers
from .model import Plan, first_text
from .read import load_document, read_document
from .storage import PlanRepository, StoredPlan

PLAN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,55}$")
AREA_STYLES = {"ryhti": "kaava-alueet", "ngp": "detaljplan-omraden"}
"""The style each model's plan areas are drawn with: Kuntaliitto's palette for Finnish plans
(``webmap.plans.palette``), Boverket's catalogue colours for Swedish ones
(``webmap.plans.boverket_style``)."""


class PlanNotFound(NotFound):
    """No plan with this id."""

    def __init__(self, plan_id: str) -> None:
        super().__init__(f"there is no plan {plan_id!r}; GET /plans lists them")


@dataclass(frozen=True, kw_only=True)
class PlanReport:
    """What a plan import did: counts, CRS, the layers' own reports and every warning."""

    plan_id: str
    model: str
    name: dict[str, str]
    source_crs: str
    objects: int
    groups: int
    regulations: int
    general_groups: int
    relations: int
    layers: tuple[ImportReport, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def repaired(self) -> int:
        """Geometries repaired over all layers."""
        return sum(r.repaired for r in self.layers)

    @property
    def dropped(self) -> int:
        """Objects left out over all layers (no usable geometry)."""
        return sum(r.dropped for r in self.layers)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"plan_id": self.plan_id, "model": self.model, "name": self.name,
                "source_crs": self.source_crs, "objects": self.objects, "groups": self.groups,
                "regulations": self.regulations, "general_groups": self.general_groups,
                "relations": self.relations, "repaired": self.repaired,
                "dropped": self.dropped, "warnings": list(self.warnings),
                "layers": [r.as_dict() for r in self.layers]}


def check_plan_id(plan_id: str) -> str:
    """A plan id leaves room for its layers' suffixes (``-areas``…) within a layer id."""
    if not PLAN_ID_RE.match(plan_id):
        raise ImportFailed(f"plan id {plan_id!r} must be 1–56 lower-case letters, digits, '-' "
                           "or '_', starting with a letter or digit")
    return plan_id


class PlanService:
    """Plans and their layers, over the layer store and the plan repository."""

    def __init__(self, store: Store, storage: PlanRepository, *,
                 styles: StyleCatalogue | None = None) -> None:
        self.store = store
        self.storage = storage
        self.styles = styles

    def import_plan(self, path: Path, plan_id: str, *, name: str | None = None,
                    municipality: str | None = None) -> PlanReport:
        """Import ``path`` as plan ``plan_id``, replacing a plan of that id."""
        check_plan_id(plan_id)
        document = load_document(Path(path))
        plan = read_document(document, plan_id=plan_id, name=Path(path).name)
        if name:
            plan.name = {**plan.name, ("sv" if plan.model == "ngp" else "fi"): name}
        if municipality:
            plan.municipality = municipality
        layers = plan_layers(plan)
        if not layers:
            raise ImportFailed("the plan has no objects with a geometry")
        previous = self.storage.get(plan_id)
        reports = []
        description = first_text(plan.description)[:500]
        for layer in layers.values():
            reports.append(self.store.import_layer(layer.report.layer_id, _ready(layer),
                                                   description=description))
        definition = self._definition(plan, reports)
        self.storage.put(plan_id, model=plan.model, definition=definition, source=document)
        kept = {r.layer_id for r in reports}
        for old in _layer_ids(previous) - kept:
            with contextlib.suppress(LayerNotFound):
                self.store.remove_layer(old)
        return PlanReport(plan_id=plan_id, model=plan.model, name=plan.name,
                          source_crs=plan.crs, objects=len(plan.objects),
                          groups=len(plan.groups), regulations=plan.regulation_count,
                          general_groups=len(plan.general), relations=plan.relations,
                          layers=tuple(reports),
                          warnings=tuple(plan.warnings)
                          + tuple(w for r in reports for w in r.warnings))

    def plans(self) -> list[StoredPlan]:
        """Every plan, by id."""
        return self.storage.all()

    def plan(self, plan_id: str) -> StoredPlan:
        """One plan; raises ``PlanNotFound``."""
        found = self.storage.get(plan_id)
        if found is None:
            raise PlanNotFound(plan_id)
        return found

    def source(self, plan_id: str) -> Any:
        """The document the plan was imported from; raises ``PlanNotFound``."""
        self.plan(plan_id)
        return self.storage.source(plan_id)

    def remove(self, plan_id: str) -> None:
        """Remove a plan and its layers; raises ``PlanNotFound``."""
        stored = self.plan(plan_id)
        for layer_id in _layer_ids(stored):
            with contextlib.suppress(LayerNotFound):
                self.store.remove_layer(layer_id)
        self.storage.delete(plan_id)

    def _definition(self, plan: Plan, reports: list[ImportReport]) -> dict[str, Any]:
        style = AREA_STYLES.get(plan.model)
        if style is not None and self.styles is not None and self.styles.get(style) is None:
            style = None
        layer_of = {r.layer_id.rsplit("-", 1)[1]: r for r in reports}
        boundary = None
        if plan.boundary is not None:
            crs84 = transform_geometries(np.array([plan.boundary], dtype=object), plan.crs,
                                         "CRS84")[0]
            boundary = shapely.geometry.mapping(crs84)
        return {
            "id": plan.id, "model": plan.model, "source_key": plan.source_key,
            "identifier": plan.identifier, "name": plan.name, "municipality": plan.municipality,
            "status": plan.status.as_dict() if plan.status else None,
            "description": plan.description, "dates": plan.dates, "source_crs": plan.crs,
            "boundary": boundary,
            "general": [g.as_dict() for g in plan.general],
            "groups": [g.as_dict() for g in plan.groups.values()],
            "objects": [{"key": o.key, "kind": o.kind, "name": o.name, "groups": list(o.groups)}
                        for o in plan.objects],
            "layers": [{"id": r.layer_id, "kind": kind[:-1], "feature_count": r.feature_count,
                        "style": style if kind == "areas" else None}
                       for kind, r in layer_of.items()],
            "counts": {"objects": len(plan.objects), "groups": len(plan.groups),
                       "regulations": plan.regulation_count,
                       "general_groups": len(plan.general), "relations": plan.relations},
            "warnings": list(plan.warnings),
        }


def _ready(layer: NormalisedLayer) -> Importer:
    """An importer handing the store a layer normalised beforehand."""
    def importer(_workdir: Path) -> NormalisedLayer:
        return layer
    return importer


def _layer_ids(stored: StoredPlan | None) -> set[str]:
    if stored is None:
        return set()
    return {str(layer["id"]) for layer in stored.definition.get("layers", [])}

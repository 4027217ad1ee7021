"""Plans in the national models: ``GET /plans`` and ``GET /plans/{id}`` (metadata, general
regulations, regulation groups with their regulations as values and text, links to the plan's
feature collections)."""

from __future__ import annotations

from flask import Blueprint, Response

from ..plans.document import plan_document, summary
from ..services import current
from ..types import MediaType
from .render import base_url, json_response, link, url

bp = Blueprint("plans", __name__)


@bp.get("/plans")
def plans() -> Response:
    """Every imported plan, by id."""
    base = base_url()
    return json_response({
        "plans": [summary(p, base=base) for p in current().plans.plans()],
        "links": [link(url("/plans"), "self", MediaType.JSON, "Plans")],
    })


@bp.get("/plans/<plan_id>")
def plan(plan_id: str) -> Response:
    """One plan with its regulations."""
    return json_response(plan_document(current().plans.plan(plan_id), base=base_url()))

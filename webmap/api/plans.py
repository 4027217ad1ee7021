"""Plans in the national models: ``GET /plans`` and ``GET /plans/{id}`` (metadata, general
regulations, regulation groups with their regulations as values and text, links to the plan's
feature collections), as JSON or HTML."""

from __future__ import annotations

from flask import Blueprint, Response

from ..plans.document import plan_document, summary
from ..services import current
from ..types import MediaType
from .accepts import accepts
from .render import base_url, link, respond, url

bp = Blueprint("plans", __name__)


@bp.get("/plans")
@accepts("f")
def plans() -> Response:
    """Every imported plan, by id."""
    base = base_url()
    return respond({
        "plans": [summary(p, base=base) for p in current().plans.plans()],
        "links": [link(url("/plans"), "self", MediaType.JSON, "Plans"),
                  link(url("/plans", f="html"), "alternate", MediaType.HTML, "Plans as HTML")],
    }, "plans.html", title="Plans")


@bp.get("/plans/<plan_id>")
@accepts("f")
def plan(plan_id: str) -> Response:
    """One plan with its regulations."""
    body = plan_document(current().plans.plan(plan_id), base=base_url())
    body["links"].append(link(url(f"/plans/{plan_id}", f="html"), "alternate", MediaType.HTML,
                              "This plan as HTML"))
    return respond(body, "plan.html", title=f"Plan {plan_id}")

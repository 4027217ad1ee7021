"""The staff API: bearer-token protected layer uploads, replacement and removal, and map
publishing (SPEC §8)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from ..api.accepts import accepts
from ..api.render import base_url, json_response
from ..api.staff import require_bearer
from ..layers import remove_layer
from ..plans.service import PlanNotFound, PlanReport
from ..problems import Conflict, InvalidParameter, LayerNotFound, Problem, Unprocessable
from ..services import current
from ..types import ImportReport, MediaType
from ..widget.views import map_document
from .staff import import_plan_upload, import_upload, is_forced

log = logging.getLogger("webmap.admin")
bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")
bp.before_request(require_bearer)


def _report_response(report: ImportReport, status: int) -> Response:
    return json_response({"report": report.as_dict(),
                          "links": [{"rel": "collection", "type": MediaType.JSON,
                                     "href": f"/collections/{report.layer_id}"}]},
                         status=status)


def _exists(layer_id: str) -> bool:
    try:
        current().layers.layer(layer_id)
    except LayerNotFound:
        return False
    return True


@bp.get("/layers")
@accepts()
def list_layers() -> Response:
    """Every layer with its catalogue entry."""
    return json_response({"layers": [{
        "id": info.id, "kind": str(info.kind), "title": info.title,
        "feature_count": info.feature_count, "source_crs": info.source_crs,
        "bbox": list(info.bbox), "geometry_type": info.geometry_type,
        "version": info.version, "updated": info.updated}
        for info in current().layers.layers()]})


@bp.post("/layers")
@accepts("force")
def create_layer() -> Response:
    """Upload a new layer: multipart ``file``, ``id`` and optional import options."""
    layer_id = request.form.get("id", "").strip()
    if not layer_id:
        raise InvalidParameter("id", "give the new layer an id (form field 'id')")
    if _exists(layer_id):
        raise Conflict(f"layer {layer_id!r} exists: replace it with PUT "
                       f"/admin/api/layers/{layer_id}")
    return _report_response(import_upload(layer_id), 201)


@bp.put("/layers/<layer_id>")
@accepts("force")
def replace_layer(layer_id: str) -> Response:
    """Replace a layer atomically (or create it); readers see the old or the new version."""
    existed = _exists(layer_id)
    return _report_response(import_upload(layer_id), 200 if existed else 201)


@bp.delete("/layers/<layer_id>")
@accepts("force")
def delete_layer(layer_id: str) -> Response:
    """Remove a layer and its files; 409 naming the maps that use it unless ``?force=yes``."""
    services = current()
    remove_layer(services.layers, layer_id, maps=services.layer_users(), force=is_forced())
    return _no_content()


def _no_content() -> Response:
    done = Response(status=204)
    del done.headers["Content-Type"]
    return done


@bp.put("/maps/<map_id>")
@accepts()
def publish_map(map_id: str) -> Response:
    """Publish or update a map: the body is a map definition (the schema of the map files)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise Problem("send the map definition as a JSON object "
                      "(Content-Type: application/json)")
    if data.get("id", map_id) != map_id:
        raise Unprocessable("id", f"the body's id {data['id']!r} differs from {map_id!r} in "
                                  "the path; leave it out or make them the same")
    definition, created = current().maps.publish({**data, "id": map_id})
    response = json_response(map_document(definition), status=201 if created else 200)
    if created:
        response.headers["Location"] = f"{base_url()}/maps/{map_id}"
    return response


@bp.delete("/maps/<map_id>")
@accepts()
def unpublish_map(map_id: str) -> Response:
    """Take a published map down (its comments stay until purged)."""
    current().maps.unpublish(map_id)
    return _no_content()


def _plan_response(report: PlanReport, status: int) -> Response:
    response = json_response({"report": report.as_dict(), "links": [
        {"rel": "self", "type": MediaType.JSON, "href": f"/plans/{report.plan_id}"},
        *({"rel": "collection", "type": MediaType.JSON, "href": f"/collections/{r.layer_id}"}
          for r in report.layers)]}, status=status)
    if status == 201:
        response.headers["Location"] = f"{base_url()}/plans/{report.plan_id}"
    return response


def _plan_exists(plan_id: str) -> bool:
    try:
        current().plans.plan(plan_id)
    except PlanNotFound:
        return False
    return True


@bp.post("/plans")
@accepts()
def create_plan() -> Response:
    """Upload a plan (Ryhti plan JSON or NGP detaljplan): multipart ``file`` and ``id``."""
    plan_id = request.form.get("id", "").strip()
    if not plan_id:
        raise InvalidParameter("id", "give the new plan an id (form field 'id')")
    if _plan_exists(plan_id):
        raise Conflict(f"plan {plan_id!r} exists: replace it with PUT /admin/api/plans/{plan_id}")
    return _plan_response(import_plan_upload(plan_id), 201)


@bp.put("/plans/<plan_id>")
@accepts()
def replace_plan(plan_id: str) -> Response:
    """Replace a plan and its layers (or create it)."""
    existed = _plan_exists(plan_id)
    return _plan_response(import_plan_upload(plan_id), 200 if existed else 201)


@bp.delete("/plans/<plan_id>")
@accepts()
def delete_plan(plan_id: str) -> Response:
    """Remove a plan and its layers."""
    current().plans.remove(plan_id)
    return _no_content()

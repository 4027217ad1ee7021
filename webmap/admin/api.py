"""The staff API: bearer-token protected layer uploads, replacement and removal (SPEC §8)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.utils import secure_filename

from ..api.render import json_response
from ..layers import import_file
from ..problems import Conflict, InvalidParameter, LayerNotFound, Problem
from ..settings import Settings
from ..store.base import Store
from ..types import ImportReport, MediaType
from .tokens import Tokens

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")
UPLOAD_OPTIONS = ("title", "crs", "layer", "encoding", "x_column", "y_column", "wkt_column")
META_OPTIONS = ("attribution", "description")


class Unauthorized(Problem):
    """No valid staff token."""

    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="webmap staff"'})


def tokens() -> Tokens:
    """The token records, opened once in ``init_app``."""
    records: Tokens = current_app.extensions["webmap.tokens"]
    return records


def _store() -> Store:
    backend: Store = current_app.extensions["webmap.store"]
    return backend


@bp.before_request
def authenticate() -> None:
    """Every staff route needs ``Authorization: Bearer <token>`` of an active token."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send a staff token: Authorization: Bearer <token> "
                           "(create one with `webmap tokens create NAME`)")
    name = tokens().verify(token.strip())
    if name is None:
        raise Unauthorized("the staff token is not valid or has been revoked")
    g.staff = name


def _report_response(report: ImportReport, status: int) -> Response:
    return json_response({"report": report.as_dict(),
                          "links": [{"rel": "collection", "type": MediaType.JSON,
                                     "href": f"/collections/{report.layer_id}"}]},
                         status=status)


def _import_upload(layer_id: str) -> ImportReport:
    """Save the multipart ``file`` aside and import it through the same path as the CLI."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidParameter("file", "send the data as a multipart form field named 'file'")
    options: dict[str, Any] = {k: request.form[k] for k in UPLOAD_OPTIONS
                               if request.form.get(k)}
    meta: dict[str, Any] = {k: request.form[k] for k in META_OPTIONS if request.form.get(k)}
    settings: Settings = current_app.extensions["webmap.settings"]
    scratch = Path(tempfile.mkdtemp(prefix="upload-", dir=settings.data_dir / "tmp"))
    try:
        # the name only helps formats made of several files; the type is sniffed from bytes
        target = scratch / (secure_filename(upload.filename) or "upload")
        upload.save(target)
        return import_file(_store(), target, layer_id, **meta, **options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _exists(layer_id: str) -> bool:
    try:
        _store().layer(layer_id)
    except LayerNotFound:
        return False
    return True


@bp.get("/layers")
def list_layers() -> Response:
    """Every layer with its catalogue entry."""
    return json_response({"layers": [{
        "id": info.id, "kind": str(info.kind), "title": info.title,
        "feature_count": info.feature_count, "source_crs": info.source_crs,
        "bbox": list(info.bbox), "geometry_type": info.geometry_type,
        "version": info.version, "updated": info.updated}
        for info in _store().layers()]})


@bp.post("/layers")
def create_layer() -> Response:
    """Upload a new layer: multipart ``file``, ``id`` and optional import options."""
    layer_id = request.form.get("id", "").strip()
    if not layer_id:
        raise InvalidParameter("id", "give the new layer an id (form field 'id')")
    if _exists(layer_id):
        raise Conflict(f"layer {layer_id!r} exists: replace it with PUT "
                       f"/admin/api/layers/{layer_id}")
    return _report_response(_import_upload(layer_id), 201)


@bp.put("/layers/<layer_id>")
def replace_layer(layer_id: str) -> Response:
    """Replace a layer atomically (or create it); readers see the old or the new version."""
    existed = _exists(layer_id)
    return _report_response(_import_upload(layer_id), 200 if existed else 201)


@bp.delete("/layers/<layer_id>")
def delete_layer(layer_id: str) -> Response:
    """Remove a layer and its files."""
    _store().remove_layer(layer_id)
    done = Response(status=204)
    del done.headers["Content-Type"]
    return done


def init_app(app: Flask) -> None:
    """Open the token records and register the staff API."""
    settings: Settings = app.extensions["webmap.settings"]
    app.extensions["webmap.tokens"] = Tokens(settings.data_dir / "staff.sqlite")
    app.register_blueprint(bp)

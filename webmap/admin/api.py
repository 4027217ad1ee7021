"""The staff API: bearer-token protected layer uploads, replacement and removal, and map
publishing (SPEC §8)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from psycopg_pool import ConnectionPool
from werkzeug.utils import secure_filename

from ..api.render import base_url, json_response
from ..layers import import_file
from ..maps import MapDefinition, MapRegistry
from ..problems import Conflict, InvalidParameter, LayerNotFound, Problem, Unprocessable
from ..settings import Settings
from ..store.base import Store
from ..store.maps import open_map_storage
from ..types import ImportReport, MediaType
from ..widget.views import map_document
from .tokens import Tokens, open_tokens

log = logging.getLogger("webmap.admin")
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
    return _no_content()


def _no_content() -> Response:
    done = Response(status=204)
    del done.headers["Content-Type"]
    return done


@bp.put("/maps/<map_id>")
def publish_map(map_id: str) -> Response:
    """Publish or update a map: the body is a map definition (the schema of the map files)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise Problem("send the map definition as a JSON object "
                      "(Content-Type: application/json)")
    if data.get("id", map_id) != map_id:
        raise Unprocessable("id", f"the body's id {data['id']!r} differs from {map_id!r} in "
                                  "the path; leave it out or make them the same")
    registry: MapRegistry = current_app.extensions["webmap.maps"]
    definition, created = registry.publish({**data, "id": map_id})
    response = json_response(map_document(definition), status=201 if created else 200)
    if created:
        response.headers["Location"] = f"{base_url()}/maps/{map_id}"
    return response


@bp.delete("/maps/<map_id>")
def unpublish_map(map_id: str) -> Response:
    """Take a published map down (its comments stay until purged)."""
    registry: MapRegistry = current_app.extensions["webmap.maps"]
    registry.unpublish(map_id)
    return _no_content()


class MapChecks:
    """What a published map must satisfy beyond its schema: its layers exist, and its styles
    exist and pass the accessibility check over its base (SPEC §10)."""

    def __init__(self, store: Store, styles_dir: Path) -> None:
        self.store = store
        self.styles_dir = styles_dir

    def _layer(self, layer_id: str, field: str) -> None:
        try:
            self.store.layer(layer_id)
        except LayerNotFound:
            raise Unprocessable(field, f"{field}: there is no layer {layer_id!r}; import it "
                                       "first") from None

    def __call__(self, definition: MapDefinition) -> None:
        """Raise ``Unprocessable`` naming the first field at fault."""
        from ..styles import StyleError, check_style, load_basemap_palettes, load_styles
        from ..styles.check import WHITE, _map_palettes  # the rule `webmap styles check` uses

        for i, item in enumerate(definition.layers):
            self._layer(item.layer, f"layers[{i}].layer")
        for i, source in enumerate(definition.search):
            self._layer(source.layer, f"search[{i}].layer")
        if definition.base.kind == "layer" and definition.base.layer:
            self._layer(definition.base.layer, "base.layer")
        basemaps_dir = self.styles_dir / "basemaps"
        try:
            styles = load_styles(self.styles_dir)
            basemaps = load_basemap_palettes(basemaps_dir)
        except StyleError as exc:
            log.error("styles unusable, maps cannot be checked: %s", exc)
            raise Problem("the service's styles cannot be read; run `webmap styles check`",
                          status=500, title="Styles unusable") from None
        base = definition.base
        if base.kind == "rendered" and base.basemap not in basemaps:
            raise Unprocessable("base.basemap", f"base.basemap: there is no base map "
                                f"{base.basemap!r}; use one of {', '.join(sorted(basemaps))}")
        for i, item in enumerate(definition.layers):
            if item.style not in styles:
                raise Unprocessable(f"layers[{i}].style", f"layers[{i}].style: there is no "
                                    f"style {item.style!r}; use one of "
                                    f"{', '.join(sorted(styles))}")
        palettes, _ = _map_palettes(definition, basemaps_dir, basemaps, basemaps or dict(WHITE))
        for i, item in enumerate(definition.layers):
            issues = [issue for issue in check_style(styles[item.style], palettes)
                      if issue.severity == "error"]
            if issues:
                lines = "\n".join(f"- {issue}" for issue in issues)
                raise Unprocessable(f"layers[{i}].style", f"layers[{i}].style: style "
                                    f"{item.style!r} fails the accessibility check over this "
                                    f"map's base:\n{lines}")


def init_app(app: Flask) -> None:
    """Open the token records and published maps (beside the layer store) and register the
    staff API."""
    settings: Settings = app.extensions["webmap.settings"]
    store: Store = app.extensions["webmap.store"]
    pool = getattr(store, "pool", None)
    shared = pool if isinstance(pool, ConnectionPool) else None
    app.extensions["webmap.tokens"] = open_tokens(settings, pool=shared)
    registry: MapRegistry = app.extensions["webmap.maps"]
    registry.use_storage(open_map_storage(settings, pool=shared),
                         check=MapChecks(store, settings.styles_dir))
    app.register_blueprint(bp)

"""Maps and the embeddable widget: ``/maps``, ``/maps/{id}``, ``/embed/{id}`` and its assets."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request, send_file

from ..api.accepts import accepts
from ..api.render import base_url, json_response, link, respond, wants_html
from ..comments.photos import accepted_formats
from ..i18n import LANGUAGES, catalogue, t
from ..maps import MapDefinition, text
from ..maps.model import Consultation, Drawing
from ..maps.safety import csp_source
from ..problems import NotFound
from ..services import current
from . import assets
from .build import build_map, national_crs

log = logging.getLogger("webmap.widget")
bp = Blueprint("widget", __name__, template_folder="templates")
VENDOR_MAX_AGE = 365 * 24 * 3600
PAGE_MAX_AGE = 300


def map_document(definition: MapDefinition) -> dict[str, Any]:
    """The JSON form of a map for ``GET /maps/{id}``."""
    root = base_url()
    consultation = definition.consultation
    links = [link(f"{root}/maps/{definition.id}", "self", "application/json", "This map"),
             *(link(f"{root}/embed/{definition.id}?lang={lang}", "alternate", "text/html",
                    f"Widget ({lang})", hreflang=lang) for lang in definition.languages)]
    links += [link(f"{root}/collections/{item.layer}", "item", "application/json",
                   text(item.title, "en") or item.layer) for item in definition.layers]
    base = definition.base
    return {
        "id": definition.id, "title": dict(definition.title),
        "description": dict(definition.description),
        "tileMatrixSet": definition.tile_matrix_set, "extent": list(definition.extent),
        "languages": list(definition.languages),
        "base": {"type": base.kind, "basemap": base.basemap, "url": base.url,
                 "layer": base.layer, "attribution": base.attribution},
        "layers": [{"layer": item.layer, "style": item.style, "plan": item.plan,
                    "title": dict(item.title), "label": item.label_field,
                    "labels": dict(item.label_fields),
                    "attributes": list(item.attributes)} for item in definition.layers],
        "search": [{"layer": s.layer, "kind": s.kind} for s in definition.search],
        "consultation": None if consultation is None else {
            "open": consultation.is_open(),
            "opens": consultation.opens.isoformat() if consultation.opens else None,
            "closes": consultation.closes.isoformat() if consultation.closes else None,
            "geometry": list(consultation.geometry),
            "showComments": consultation.show_comments,
            "drawing": drawing_config(consultation.drawing),
            "photos": photos_config(consultation)},
        "origins": list(definition.origins),
        "version": definition.version,
        "links": links,
    }


def drawing_config(drawing: Drawing) -> dict[str, Any]:
    """The drawing limits as the widget and ``GET /maps/{id}`` give them."""
    return {"maxPoints": drawing.max_points, "minZoom": drawing.min_zoom,
            "several": drawing.several}


def photos_config(consultation: Consultation) -> dict[str, Any]:
    """How many photos a comment may carry, how large each may be, and which formats."""
    return {"max": consultation.photos, "maxMb": current().settings.photo_max_mb,
            "formats": accepted_formats().replace(" or ", ", ")}


def frame_ancestors(definition: MapDefinition) -> str:
    """The CSP ``frame-ancestors`` of a map's widget: itself, its origins, the global ones."""
    allowed = dict.fromkeys([*definition.origins, *current().settings.embed_origins])
    return " ".join(["'self'", *allowed])


def allowed_origins(definition: MapDefinition) -> list[str]:
    """Origins the widget talks to with postMessage (never ``*``)."""
    return list(dict.fromkeys([*definition.origins, *current().settings.embed_origins]))


def _drawable(definition: MapDefinition) -> MapDefinition:
    """The map without its rendered base while that base is not offered (its layers are
    missing): no tiles of an empty sea, no attribution for data that is not there."""
    base = definition.base
    if base.kind == "rendered" and base.basemap:
        try:
            current().basemaps.get(base.basemap)
        except NotFound:
            return dataclasses.replace(definition, base=dataclasses.replace(
                base, basemap=None, attribution=""))
    return definition


def _base_variants(definition: MapDefinition) -> dict[str, str | None]:
    """The rendered base drawn and its high-contrast variant, where both are offered."""
    drawn = _drawable(definition).base
    if drawn.kind != "rendered" or not drawn.basemap:
        return {"id": None, "contrast": None}
    variant = current().basemaps.get(drawn.basemap).high_contrast
    if variant:
        try:
            current().basemaps.get(variant)
        except NotFound:
            variant = None
    return {"id": drawn.basemap, "contrast": variant}


def _base_attribution(definition: MapDefinition) -> str:
    """The base map's attribution: the map's own, else the rendered base map's."""
    if definition.base.attribution:
        return definition.base.attribution
    if definition.base.kind == "rendered" and definition.base.basemap:
        try:
            return current().basemaps.get(definition.base.basemap).attribution
        except NotFound:
            return ""
    return ""


def widget_config(definition: MapDefinition, lang: str) -> dict[str, Any]:
    """What the widget script needs, as a JSON data block in the page."""
    services = current()
    layers = []
    for item in definition.layers:
        try:
            info = services.layers.layer(item.layer)
        except NotFound:
            log.warning("map %s names layer %s, which is not imported", definition.id,
                        item.layer)
            continue
        layers.append({
            "layer": item.layer, "plan": item.plan,
            "title": {lang_: text(item.title, lang_) if item.title else info.title
                      for lang_ in definition.languages},
            "label": item.label_field, "labels": dict(item.label_fields),
            "attributes": [{"field": name, "title": {lang_: text(item.attribute_titles[name], lang_)
                                                     if name in item.attribute_titles else name
                                                     for lang_ in definition.languages}}
                           for name in item.attributes],
            "style": services.styles.browser(item.style), "version": info.version,
            "attribution": info.attribution})
    consultation = definition.consultation
    return {
        "map": definition.id, "lang": lang, "languages": list(definition.languages),
        "title": {lang_: text(definition.title, lang_) for lang_ in definition.languages},
        "extent": list(definition.extent), "tileMatrixSet": definition.tile_matrix_set,
        "crs": national_crs(definition),
        "origins": allowed_origins(definition),
        "strings": {lang_: catalogue(lang_) for lang_ in definition.languages},
        "layers": layers, "search": bool(definition.search),
        "base": _base_variants(definition),
        "consultation": None if consultation is None else {
            "open": consultation.is_open(), "geometry": list(consultation.geometry),
            "closes": consultation.closes.isoformat() if consultation.closes else None,
            "showComments": consultation.show_comments,
            "drawing": drawing_config(consultation.drawing),
            "photos": photos_config(consultation)},
    }


@bp.get("/maps")
@accepts("f")
def maps_list() -> Response:
    """Every published map."""
    root = base_url()
    maps = [{"id": m.id, "title": dict(m.title), "languages": list(m.languages),
             "links": [link(f"{root}/maps/{m.id}", "item", "application/json",
                            text(m.title, "en"))]} for m in current().maps.all()]
    body = {"maps": maps, "links": [link(f"{root}/maps", "self", "application/json", "Maps")]}
    return respond(body, "maps.html", title="Maps", maps=current().maps.all(), text=text)


@bp.get("/maps/<map_id>")
@accepts("f", "lang")
def map_detail(map_id: str) -> Response:
    """One map as JSON, or a page with the widget and its embed snippet."""
    definition = current().maps.get(map_id)
    if wants_html():
        lang = definition.language(request.args.get("lang"))
        response = respond(map_document(definition), "map.html", title=text(definition.title,
                           lang), definition=definition, lang=lang, text=text, t=t,
                           embed_url=f"{base_url()}/embed/{definition.id}?lang={lang}")
        return response
    return json_response(map_document(definition))


@bp.get("/embed/<map_id>")
@accepts("lang")
def embed(map_id: str) -> Response:
    """The widget page for an iframe; framing is allowed only from the map's origins."""
    definition = current().maps.get(map_id)
    lang = definition.language(request.args.get("lang"))
    drawn = _drawable(definition)
    built = build_map(drawn, lang, _base_attribution(drawn))
    html = render_template(
        "embed.html", lang=lang, definition=definition, built=built, t=t, text=text,
        languages=[code for code in LANGUAGES if code in definition.languages],
        config=widget_config(definition, lang),
        css=f"../widget/static/widget.css?v={assets.static_digest('widget.css')}",
        js=f"../widget/static/widget.js?v={assets.static_digest('widget.js')}",
        comment_js=f"../widget/static/comment.js?v={assets.static_digest('comment.js')}",
        draw_js=f"../widget/static/draw.js?v={assets.static_digest('draw.js')}",
        map_js=f"{definition.id}/map.js?lang={lang}&v={definition.version}")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
        + (" " + _xyz_host(definition) if _xyz_host(definition) else "")
        + "; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {frame_ancestors(definition)}")
    response.headers["Cache-Control"] = f"public, max-age={PAGE_MAX_AGE}"
    response.vary.add("Accept-Language")
    return response


def _xyz_host(definition: MapDefinition) -> str:
    """The external base map's origin, the one other host a map may load images from: built
    from the parsed host name alone, never copied from the URL."""
    return csp_source(definition.base.url) if definition.base.kind == "xyz" else ""


@bp.get("/embed/<map_id>/map.js")
@accepts("lang", "v")
def embed_script(map_id: str) -> Response:
    """folium's script that creates the Leaflet map (a file, so no inline script is needed)."""
    definition = current().maps.get(map_id)
    lang = definition.language(request.args.get("lang"))
    drawn = _drawable(definition)
    built = build_map(drawn, lang, _base_attribution(drawn))
    response = Response(built.script, mimetype="text/javascript")
    versioned = request.args.get("v") == definition.version
    response.headers["Cache-Control"] = (f"public, max-age={VENDOR_MAX_AGE}, immutable"
                                         if versioned else f"public, max-age={PAGE_MAX_AGE}")
    return response


def _static(path: Path, *, immutable: bool) -> Response:
    """A front-end file, gzipped once and kept in memory when the client takes gzip."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        found = assets.compressed(path)
        if found is not None:
            body, etag = found
            response = Response(body, mimetype=assets.media_type(path))
            response.headers["Content-Encoding"] = "gzip"
            response.set_etag(etag)
            response.vary.add("Accept-Encoding")
            response.make_conditional(request)
        else:
            response = send_file(path, conditional=True)
    else:
        response = send_file(path, conditional=True)
    response.headers["Cache-Control"] = (f"public, max-age={VENDOR_MAX_AGE}, immutable"
                                         if immutable else f"public, max-age={PAGE_MAX_AGE}")
    return response


@bp.get("/static/vendor/<package>/<version>/<path:filename>")
@accepts("v")
def vendor(package: str, version: str, filename: str) -> Response:
    """A file of a front-end package, cached for a year (its URL carries the version)."""
    path = assets.vendor_path(package, version, filename)
    if path is None:
        raise NotFound(f"no front-end file {package}/{version}/{filename}")
    return _static(path, immutable=True)


@bp.get("/widget/static/<path:filename>")
@accepts("v")
def widget_static(filename: str) -> Response:
    """The widget's own script and stylesheet (immutable when the URL carries the digest)."""
    path = assets.static_path(filename)
    if path is None:
        raise NotFound(f"no widget file {filename}")
    return _static(path, immutable=request.args.get("v") == assets.static_digest(path.name))


def warn_missing_packages() -> None:
    """Log the npm packages ``make vendor`` has not copied in (the widget needs them)."""
    missing = assets.missing_packages()
    if missing:
        log.warning("front-end packages missing (run `make vendor`): %s", ", ".join(missing))

"""Content negotiation, links and JSON/HTML responses shared by the API views."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Response, render_template, request

from ..problems import InvalidParameter
from ..services import current
from ..types import MediaType

FORMATS = {"json": MediaType.JSON, "geojson": MediaType.GEOJSON, "html": MediaType.HTML}


def wants_html() -> bool:
    """``f=html``, or a browser whose Accept prefers HTML to JSON; JSON otherwise."""
    f = request.args.get("f")
    if f:
        if f not in FORMATS:
            raise InvalidParameter("f", f"f must be one of {', '.join(FORMATS)}, got {f!r}")
        return f == "html"
    best = request.accept_mimetypes.best_match(
        [MediaType.JSON, MediaType.GEOJSON, MediaType.HTML])
    return best == MediaType.HTML and request.accept_mimetypes[MediaType.HTML] > \
        request.accept_mimetypes[MediaType.JSON]


def json_only() -> None:
    """For resources offered as JSON only: ``f`` may be absent or ``json``."""
    if request.args.get("f") not in {None, "", "json"}:
        raise InvalidParameter("f", "this resource is offered as JSON only: f=json")


def base_url() -> str:
    """The service's public root, without a trailing slash."""
    return current().settings.public_url or request.host_url.rstrip("/")


def url(path: str, **params: Any) -> str:
    """An absolute URL under the service root."""
    query = {k: v for k, v in params.items() if v is not None}
    return base_url() + path + (("?" + urlencode(query)) if query else "")


def link(href: str, rel: str, media_type: str, title: str, **extra: Any) -> dict[str, Any]:
    """One OGC API link object."""
    return {"href": href, "rel": rel, "type": str(media_type), "title": title, **extra}


def self_links(path: str, json_type: str, title: str) -> list[dict[str, Any]]:
    """``self`` and ``alternate`` links for a resource offered as JSON and HTML."""
    html = wants_html()
    json_link = link(url(path, f="json"), "alternate" if html else "self", json_type,
                     f"{title} as JSON")
    html_link = link(url(path, f="html"), "self" if html else "alternate", MediaType.HTML,
                     f"{title} as HTML")
    return [json_link, html_link] if not html else [html_link, json_link]


def json_response(body: Any, media_type: str = MediaType.JSON, *, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    """Serialise with orjson (pre-serialised parts may be ``orjson.Fragment``)."""
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status=status,
                    mimetype=str(media_type), headers=headers)


def html_response(template: str, **context: Any) -> Response:
    """A page from ``api/templates``; the language is English until the widget adds others."""
    return Response(render_template(template, **context), mimetype="text/html")


def respond(body: dict[str, Any], template: str, media_type: str = MediaType.JSON,
            **context: Any) -> Response:
    """JSON or HTML for the same resource, as negotiated."""
    if wants_html():
        return html_response(template, body=body, **context)
    return json_response(body, media_type)

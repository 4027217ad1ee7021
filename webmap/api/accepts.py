"""Which query parameters each operation takes; anything else answers 400 naming it.

OGC API - Features /req/core/query-param-unknown applies to every operation: a client that
misspells ``limit`` or sends a parameter webmap does not implement learns so at once instead
of silently getting an unfiltered answer. Views declare their parameters with ``accepts``;
the same names are declared in the OpenAPI document, and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request

from ..problems import InvalidParameter

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "query_parameters"
PROPERTIES_ATTRIBUTE = "query_properties"


def accepts(*names: str, properties: bool = False) -> Callable[[View], View]:
    """Mark a view as taking exactly ``names`` as query parameters (``properties``: also the
    collection's attributes as equality filters, which the view itself checks)."""
    def mark(view: View) -> View:
        setattr(view, ATTRIBUTE, frozenset(names))
        setattr(view, PROPERTIES_ATTRIBUTE, properties)
        return view
    return mark


def accepted(view: Callable[..., Any] | None) -> frozenset[str] | None:
    """The parameters ``view`` declared, or None if it declared none."""
    return getattr(view, ATTRIBUTE, None)


def _check() -> None:
    if request.method == "OPTIONS" or request.endpoint is None:
        return
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint)
    names = accepted(view)
    if names is None or getattr(view, PROPERTIES_ATTRIBUTE, False):
        return
    for name in request.args:
        if name not in names:
            offered = ", ".join(sorted(names)) or "none"
            raise InvalidParameter(name, f"unknown parameter {name!r}; this operation "
                                   f"accepts: {offered}")


def init_app(app: Flask) -> None:
    """Check every request's query parameters against its view's declaration."""
    app.before_request(_check)

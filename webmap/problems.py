"""RFC 9457 problem details: the exceptions webmap raises and the handlers that render them."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from werkzeug.exceptions import HTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("webmap")


class Problem(Exception):
    """An error a client can act on: HTTP status, short title, and a ``detail`` for the reader."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, status: int | None = None, title: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The problem document."""
        return {"type": "about:blank", "title": self.title, "status": self.status,
                "detail": self.detail, **self.extra}


class InvalidParameter(Problem):
    """A query parameter could not be used; ``parameter`` names it."""

    status = 400
    title = "Invalid parameter"

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(detail, parameter=parameter)


class NotFound(Problem):
    """The resource does not exist."""

    status = 404
    title = "Not found"


class LayerNotFound(NotFound):
    """No layer with this id."""

    def __init__(self, layer_id: str) -> None:
        super().__init__(f"there is no collection {layer_id!r}")


class FeatureNotFound(NotFound):
    """No feature with this id in the layer."""

    def __init__(self, layer_id: str, feature_id: object) -> None:
        super().__init__(f"collection {layer_id!r} has no feature {feature_id!r}")


class ImportFailed(Problem):
    """A file could not be imported; nothing was written."""

    status = 422
    title = "Import failed"


class Conflict(Problem):
    """The request conflicts with the current state (e.g. another import of the same layer)."""

    status = 409
    title = "Conflict"


class Unprocessable(Problem):
    """A well-formed request whose content breaks a rule; ``field`` names the member at fault."""

    status = 422
    title = "Unprocessable content"

    def __init__(self, field: str, detail: str, **extra: Any) -> None:
        super().__init__(detail, field=field, **extra)


class TooManyRequests(Problem):
    """A client sent more than its share; ``Retry-After`` says when to try again."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


class ServiceUnavailable(Problem):
    """A backing service is down; the client may retry."""

    status = 503
    title = "Service unavailable"


class QueryTimeout(ServiceUnavailable):
    """A query ran out of its time budget and was stopped; a simpler query may pass."""

    def __init__(self, budget_s: float) -> None:
        super().__init__(f"the query did not finish within its {budget_s:g} s budget and was "
                         "stopped; narrow it (fewer terms, a bbox, fewer CASEI/ACCENTI) or "
                         "try again later", headers={"Retry-After": "10"})


def http_exception_body(exc: HTTPException) -> dict[str, Any]:
    """Give werkzeug's routing errors (404, 405, 413…) the problem shape."""
    return {"type": "about:blank", "title": exc.name, "status": exc.code,
            "detail": exc.description or exc.name}


def unexpected_error_body(exc: BaseException) -> dict[str, Any]:
    """Log the traceback under a request id; the client gets only the id."""
    request_id = uuid.uuid4().hex[:12]
    log.error("unexpected error, request id %s", request_id, exc_info=exc)
    return {"type": "about:blank", "title": "Internal server error", "status": 500,
            "detail": f"The server failed to answer. Quote request id {request_id} "
                      "when you report this.", "request_id": request_id}

"""The bearer-token check of every staff API route (``/admin/api/…``)."""

from __future__ import annotations

from flask import g, request

from ..auth import bearer_staff
from ..services import current


def require_bearer() -> None:
    """``before_request`` hook: ``Authorization: Bearer <token>`` of an active staff token."""
    g.staff = bearer_staff(request.headers.get("Authorization", ""), current().tokens)

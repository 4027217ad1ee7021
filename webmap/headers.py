"""Security headers webmap's answers carry: the app's, and gunicorn's own error pages
(``docker/gunicorn.conf.py``), so that nothing the service sends goes without them."""

from __future__ import annotations

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""For webmap's own HTML pages: nothing inline, nothing from elsewhere, not framed."""
HSTS = "max-age=31536000; includeSubDomains"
NOSNIFF = "nosniff"
REFERRER_POLICY = "strict-origin-when-cross-origin"
ERROR_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": NOSNIFF,
    "Referrer-Policy": REFERRER_POLICY, "Cache-Control": "no-store",
}
"""On the pages gunicorn writes itself (request line or headers too long, bad request)."""


def error_page(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 error answer with the security headers (``gunicorn.util.write_error``'s
    shape): a short plain-text body naming the reason, the connection closed."""
    body = f"{status} {reason}\n{message}\n".encode("utf-8", "replace")
    reason = "".join(c for c in reason if 32 <= ord(c) < 127)
    lines = [f"HTTP/1.1 {status} {reason}", "Connection: close",
             "Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in ERROR_PAGE_HEADERS.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

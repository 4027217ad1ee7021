"""gunicorn settings for webmap: ``gunicorn -c docker/gunicorn.conf.py 'webmap.app:create_app()'``."""

import os

bind = os.environ.get("WEBMAP_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEBMAP_WORKERS", "2"))
# Slow clients: with sync or thread workers every connection that trickles its request or
# reads its answer slowly holds a worker or thread, and a few of them stop the service.
# gevent's workers wait for the network without holding anything (tests/harden has the
# measurement), so they are the default; keep a buffering proxy in front all the same
# (docker/nginx.conf). WEBMAP_WORKER_CLASS=gthread (with WEBMAP_THREADS) or sync as a fallback.
worker_class = os.environ.get("WEBMAP_WORKER_CLASS", "gevent")
if worker_class not in {"gevent", "gthread", "sync"}:
    raise SystemExit("WEBMAP_WORKER_CLASS must be gevent, gthread or sync")
worker_connections = int(os.environ.get("WEBMAP_WORKER_CONNECTIONS", "500"))
"""Open connections one gevent worker holds at most (slow ones included)."""
threads = int(os.environ.get("WEBMAP_THREADS", "4" if worker_class == "gthread" else "1"))
if workers < 1 or threads < 1 or worker_connections < 1:
    raise SystemExit("WEBMAP_WORKERS, WEBMAP_THREADS and WEBMAP_WORKER_CONNECTIONS must be "
                     "at least 1")
# Request line and headers stay small; bodies are limited by webmap (WEBMAP_MAX_UPLOAD_MB).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
timeout = 60
graceful_timeout = 30
keepalive = 5
# gunicorn itself never reads X-Forwarded-Proto (it trusts it from 127.0.0.1 by default):
# webmap does, from exactly WEBMAP_PROXY_HOPS proxies, and from nobody when that is 0.
secure_scheme_headers: dict[str, str] = {}
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
# No client addresses: they are personal data.
access_log_format = '"%(r)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker: object) -> None:
    """gunicorn answers some bad requests itself (request line or header too long, a
    malformed request) before webmap sees them; give those pages webmap's security headers
    (CSP with frame-ancestors 'none', nosniff). tests/harden/test_gunicorn_errors.py checks
    this against this file."""
    import gunicorn.util

    from webmap.headers import error_page

    def write_error(sock: object, status_int: int, reason: str, mesg: str) -> None:
        gunicorn.util.write_nonblock(sock, error_page(status_int, reason, mesg))

    gunicorn.util.write_error = write_error

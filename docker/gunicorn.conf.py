"""gunicorn settings for webmap: ``gunicorn -c docker/gunicorn.conf.py 'webmap.app:create_app()'``."""

import os

bind = os.environ.get("WEBMAP_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEBMAP_WORKERS", "2"))
# On PostGIS a request spends much of its time waiting for the database, so each worker
# serves a few requests at once on threads while others wait (benchmarks/README.md has the
# figures). On the embedded files the work is Python's own, so one thread per process.
# WEBMAP_THREADS overrides either.
threads = int(os.environ.get("WEBMAP_THREADS",
                             "4" if os.environ.get("WEBMAP_DATABASE_URL") else "1"))
if workers < 1 or threads < 1:
    raise SystemExit("WEBMAP_WORKERS and WEBMAP_THREADS must be at least 1")
worker_class = "gthread" if threads > 1 else "sync"
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

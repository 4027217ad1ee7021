"""gunicorn settings for webmap: ``gunicorn -c docker/gunicorn.conf.py 'webmap.app:create_app()'``."""

import os

bind = os.environ.get("WEBMAP_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEBMAP_WORKERS", "2"))
worker_class = "sync"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
# No client addresses: they are personal data.
access_log_format = '"%(r)s" %(s)s %(B)s %(M)sms'

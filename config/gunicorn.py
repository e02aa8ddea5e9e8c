"""gunicorn's settings for `make serve` (Procfile): `gunicorn -c config/gunicorn.py config.wsgi`.

HOST (default 127.0.0.1:8000) is where it listens; WEB_CONCURRENCY processes of WEB_THREADS
threads each. Access logs come from the app itself (one JSON line per request with its
request id), so gunicorn writes none.
"""

import os
import tempfile

from prometheus_client import multiprocess

bind = os.environ.get("HOST", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 60
# Keep idle connections longer than a client or a load balancer does (60 s for most), so the
# server never closes one just as a request arrives on it (the client sees a reset).
keepalive = 65
graceful_timeout = 20
accesslog = None
errorlog = "-"
# The longest request line gunicorn takes (its default is 4094): a URL up to about 8 KB, e.g. a
# huge filter value on the log page, reaches the app, whose form says what is wrong with it
# (README, "The Audit Logs page"); only a longer one gets gunicorn's bare 414 URI Too Long.
limit_request_line = 8190
# htmx names the page's URL in HX-Current-URL when the filter form changes, so a header must fit
# such a URL with its scheme and host (a longest host name is 253 characters).
limit_request_field_size = limit_request_line + 512
# Behind a proxy on another host, let it say who the client was (AUDITLOG_TRUSTED_PROXIES).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The web processes' metrics are added up into one set at /metrics (operations/metrics.py).
# Set before the app is loaded, so prometheus_client writes its values to files there.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="auditlogs-metrics-")


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)

"""Prometheus metrics at /metrics, for an operator's Prometheus only.

Per process: request latency by view and status (with several web processes under gunicorn,
PROMETHEUS_MULTIPROC_DIR makes them one set; config/gunicorn.py sets it). From the database,
at each scrape, so every process reports the same truth: events recorded, delivery lag per
destination, the newest checkpoint, the jobs' last runs and the last verification's results.
"""

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from auditlogs.recording import sequencer
from operations import status

REQUEST_SECONDS = Histogram(
    "auditlogs_http_request_duration_seconds",
    "Time to answer a request, by view and status.",
    ["method", "view", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def view_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else "unmatched"


def observe_request(method: str, view: str, status_code: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, view, str(status_code)).observe(seconds)


class DatabaseCollector:
    """Figures read from the database at scrape time (operations/status.py)."""

    def collect(self):
        events = GaugeMetricFamily(
            "auditlogs_events_recorded", "Events recorded (the sum of every chain's length)."
        )
        events.add_metric([], status.events_recorded())
        yield events

        lag_events = GaugeMetricFamily(
            "auditlogs_delivery_lag_events", "Events not yet delivered, per destination.",
            labels=["destination", "status"],
        )
        lag_seconds = GaugeMetricFamily(
            "auditlogs_delivery_lag_seconds",
            "Age of the oldest event not yet delivered, per destination.",
            labels=["destination", "status"],
        )
        for lag in status.delivery_lags():
            labels = [str(lag.destination_id), lag.status]
            lag_events.add_metric(labels, lag.events)
            lag_seconds.add_metric(labels, lag.seconds)
        yield lag_events
        yield lag_seconds

        unlinked = GaugeMetricFamily(
            "auditlogs_oldest_unlinked_event_age_seconds",
            "Age of the oldest event not yet linked onto its chain (0 when none waits).",
        )
        unlinked.add_metric([], sequencer.oldest_unlinked_age() or 0.0)
        yield unlinked

        checkpoint = GaugeMetricFamily(
            "auditlogs_newest_checkpoint_age_seconds", "Age of the newest signed checkpoint."
        )
        age = status.newest_checkpoint_age()
        if age is not None:
            checkpoint.add_metric([], age)
        yield checkpoint

        verification = GaugeMetricFamily(
            "auditlogs_verification_organizations",
            "Organizations by the result of the last checkpoint job's verification.",
            labels=["result"],
        )
        for result, count in status.verification_results().items():
            verification.add_metric([result], count)
        yield verification

        finished = GaugeMetricFamily(
            "auditlogs_job_last_finished_timestamp_seconds",
            "When each worker job last finished (Unix time).", labels=["job", "outcome"],
        )
        for run in status.job_runs():
            if run.finished_at is not None:
                outcome = "failed" if run.last_error else "succeeded"
                finished.add_metric([run.name, outcome], run.finished_at.timestamp())
        yield finished


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector())
    return registry


class _Forward:
    """This process's own metrics (latency, process, Python) beside the database's."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def _authorized(request) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@require_GET
def metrics_view(request):
    """404 unless METRICS_BEARER_TOKEN is set and sent: nothing to find for anyone else."""
    if not _authorized(request):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)

"""/healthz and /readyz for a load balancer or a monitor: JSON, no secrets.

/healthz says the process answers. /readyz checks what serving needs and what the worker
keeps up, and answers 503 when any check fails (thresholds in README "Production"):

    database         a query answers
    cache            a value written can be read back
    worker           a job finished within READYZ_MAX_HEARTBEAT_SECONDS
    delivery         no active destination waits longer than READYZ_MAX_DELIVERY_LAG_SECONDS
                     (failing or paused ones are listed, but wait for their receivers)
    linking          no event has waited longer than AUDITLOG_LINK_DELAY_ALERT_SECONDS to be
                     linked onto its chain (auditlogs/recording/sequencer.py)
    checkpoints      no event has waited longer than READYZ_MAX_UNSIGNED_SECONDS (default:
                     AUDITLOG_CHECKPOINT_MAX_AGE_HOURS) for a signed checkpoint
    partitions       PostgreSQL: at least READYZ_MIN_PARTITION_MONTHS_AHEAD months ahead, and
                   no event in the default partition (`manage_audit_partitions --move-default`)
"""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from auditlogs.conf import app_settings
from auditlogs.recording import sequencer
from operations import status


@require_GET
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    checks = {}
    for name, check in CHECKS:
        try:
            checks[name] = check()
        except Exception as error:  # a check that cannot run has failed, and says why
            checks[name] = {"ok": False, "error": type(error).__name__}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "failing", "checks": checks},
                        status=200 if ok else 503)


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def _cache() -> dict:
    key, value = "readyz-probe", uuid.uuid4().hex
    cache.set(key, value, 10)
    return {"ok": cache.get(key) == value}


def _worker() -> dict:
    age = status.heartbeat_age()
    limit = settings.READYZ_MAX_HEARTBEAT_SECONDS
    return {"ok": age is not None and age <= limit, "heartbeat_age_seconds": _round(age),
            "limit_seconds": limit}


def _delivery() -> dict:
    limit = settings.READYZ_MAX_DELIVERY_LAG_SECONDS
    lags = status.delivery_lags()
    return {
        "ok": not any(status.worker_is_behind(lag, limit) for lag in lags),
        "limit_seconds": limit,
        "destinations": [
            {"id": lag.destination_id, "status": lag.status, "lag_events": lag.events,
             "lag_seconds": _round(lag.seconds)}
            for lag in lags
        ],
    }


def _checkpoints() -> dict:
    waiting = status.oldest_unsigned_event_age()
    limit = settings.READYZ_MAX_UNSIGNED_SECONDS or app_settings.CHECKPOINT_MAX_AGE_HOURS * 3600
    return {
        "ok": waiting is None or waiting <= limit,
        "newest_checkpoint_age_seconds": _round(status.newest_checkpoint_age()),
        "oldest_unsigned_event_age_seconds": _round(waiting),
        "limit_seconds": limit,
    }


def _linking() -> dict:
    waiting = sequencer.oldest_unlinked_age()
    limit = app_settings.LINK_DELAY_ALERT_SECONDS
    return {"ok": waiting is None or waiting <= limit,
            "oldest_unlinked_event_age_seconds": _round(waiting), "limit_seconds": limit}


def _partitions() -> dict:
    ahead = status.partition_months_ahead()
    minimum = settings.READYZ_MIN_PARTITION_MONTHS_AHEAD
    in_default = status.partition_months_in_default()
    return {"ok": (ahead is None or ahead >= minimum) and not in_default,
            "months_ahead": ahead, "minimum": minimum, "months_in_default": in_default}


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


CHECKS = [
    ("database", _database),
    ("cache", _cache),
    ("worker", _worker),
    ("delivery", _delivery),
    ("linking", _linking),
    ("checkpoints", _checkpoints),
    ("partitions", _partitions),
]

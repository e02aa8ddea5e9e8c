"""/healthz and /readyz: JSON for a load balancer, no secrets, 503 past a threshold."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from auditlogs import record
from auditlogs.models import ChainHead
from auditlogs.recording.context import Actor, acting_as
from auditlogs.storage import partitions
from integrations import services
from integrations.models import DeliveryStatus, Destination
from operations import jobs
from operations.models import JobRun

SECRET = "s3cret-that-must-not-show"


@pytest.fixture
def anonymous():
    return Client()


@pytest.fixture
def destination(acme, owner):
    return services.destination_create(
        organization=acme, name="SIEM", url="https://siem.example.com/hook",
        secret=SECRET, created_by=owner,
    )


def readyz(client):
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def worker_ran():
    """What a running worker leaves behind: its jobs' runs and a checkpoint of every chain."""
    jobs.sign_checkpoints()
    jobs.create_partitions()


def test_healthz_answers_without_the_database(db, anonymous, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anonymous.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ok_when_everything_is_fresh(anonymous, personas, destination):
    worker_ran()
    status, body = readyz(anonymous)
    assert status == 200, body
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"] == {"ok": True, "vendor": connection.vendor}
    assert checks["cache"] == {"ok": True}
    assert checks["worker"]["heartbeat_age_seconds"] < 60
    assert checks["checkpoints"]["oldest_unsigned_event_age_seconds"] is None
    (lag,) = checks["delivery"]["destinations"]
    assert lag == {"id": destination.pk, "status": "active", "lag_events": 1,
                   "lag_seconds": lag["lag_seconds"]}
    # Nothing that identifies a customer's receiver, let alone its secret.
    text = json.dumps(body)
    assert SECRET not in text and "siem.example.com" not in text


def test_readyz_fails_without_a_worker_heartbeat(anonymous, personas, settings):
    worker_ran()
    settings.READYZ_MAX_HEARTBEAT_SECONDS = 60
    JobRun.objects.update(finished_at=timezone.now() - timedelta(seconds=61))
    status, body = readyz(anonymous)
    assert status == 503 and body["status"] == "failing"
    assert body["checks"]["worker"]["ok"] is False
    JobRun.objects.all().delete()
    assert readyz(anonymous)[1]["checks"]["worker"] == {
        "ok": False, "heartbeat_age_seconds": None, "limit_seconds": 60
    }


def test_readyz_fails_when_the_worker_falls_behind_an_active_destination(
    anonymous, acme, alpha, destination, settings
):
    worker_ran()
    settings.READYZ_MAX_DELIVERY_LAG_SECONDS = 600
    # Delivered so far; then an event waits eleven minutes.
    Destination.objects.filter(pk=destination.pk).update(
        cursor=ChainHead.sequence_for(acme.pk)
    )
    with_old_event(acme, alpha, minutes=11)
    status, body = readyz(anonymous)
    assert status == 503 and body["checks"]["delivery"]["ok"] is False
    # A customer's receiver that is down is their problem, not a reason to stop serving.
    Destination.objects.filter(pk=destination.pk).update(status=DeliveryStatus.FAILING)
    status, body = readyz(anonymous)
    assert body["checks"]["delivery"]["ok"] is True
    assert body["checks"]["delivery"]["destinations"][0]["status"] == "failing"


def test_readyz_fails_when_events_wait_too_long_for_a_checkpoint(
    anonymous, acme, alpha, settings
):
    worker_ran()
    settings.READYZ_MAX_UNSIGNED_SECONDS = 3600
    with_old_event(acme, alpha, minutes=61)
    status, body = readyz(anonymous)
    assert status == 503
    assert body["checks"]["checkpoints"]["ok"] is False
    assert body["checks"]["checkpoints"]["oldest_unsigned_event_age_seconds"] > 3600
    jobs.sign_checkpoints()
    assert readyz(anonymous)[0] == 200


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions are PostgreSQL's")
def test_readyz_fails_without_enough_partitions_ahead(anonymous, personas, settings):
    worker_ran()
    status, body = readyz(anonymous)
    assert body["checks"]["partitions"]["months_ahead"] >= settings.AUDITLOG_PARTITION_MONTHS_AHEAD
    settings.READYZ_MIN_PARTITION_MONTHS_AHEAD = 12
    status, body = readyz(anonymous)
    assert status == 503 and body["checks"]["partitions"]["ok"] is False



@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions are PostgreSQL's")
def test_readyz_names_months_whose_events_sit_in_the_default_partition(
    anonymous, personas, acme
):
    """A server clock ahead put an event into a month beyond those made ahead: it is kept,
    in the default partition, which retention's month drops never reach."""
    worker_ran()
    far = partitions.add_months(partitions.month_start(datetime.now(UTC)), 9)
    with acting_as(Actor.system(), at=datetime(far.year, far.month, 15, tzinfo=UTC)):
        record("organization.updated", organization=acme)
    jobs.sign_checkpoints()
    status, body = readyz(anonymous)
    assert status == 503
    assert body["checks"]["partitions"]["months_in_default"] == [f"{far:%Y-%m}"]

    call_command("manage_audit_partitions", "--move-default", stdout=StringIO())
    status, body = readyz(anonymous)
    assert status == 200 and body["checks"]["partitions"]["months_in_default"] == []


def test_readyz_reports_a_check_that_cannot_run_as_failed(anonymous, personas, monkeypatch):
    worker_ran()

    def broken():
        raise ConnectionError("the cache server is gone")

    monkeypatch.setattr("operations.health.cache.set", lambda *args: broken())
    status, body = readyz(anonymous)
    assert status == 503
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}


def with_old_event(acme, alpha, minutes):
    from auditlogs.recording.context import Actor, acting_as

    with acting_as(Actor.system(), at=timezone.now() - timedelta(minutes=minutes)):
        return record("project.viewed", organization=acme, project=alpha)


def test_a_browser_asking_for_favicon_ico_gets_the_icon(db, anonymous):
    """JSON pages such as this one name no icon, so browsers ask for /favicon.ico (a 404)."""
    response = anonymous.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("img/favicon.svg")

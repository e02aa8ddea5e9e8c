"""The worker: django-q2 runs the jobs of operations/schedule.py on their schedules; several
workers share the work without sending anything twice; a killed worker loses nothing."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler

from auditlogs import record
from integrations import alerts, services, webhooks
from integrations.models import AlertSubscription, Destination
from operations import jobs, schedule
from operations.models import JobRun
from projects import services as project_services
from tests.helpers.events import as_stored

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="several workers need PostgreSQL's row locks"
)


@pytest.fixture
def destination(acme, owner, receiver):
    return services.destination_create(
        organization=acme, name="SIEM", url=receiver.url, secret="s3cret-for-tests-only",
        created_by=owner,
    )


def make_events(acme, alpha, count):
    return as_stored([record("project.viewed", organization=acme, project=alpha)
                      for _ in range(count)])


def delivered_sequences(receiver):
    return [event["sequence"] for event in receiver.delivered]


def test_a_backlog_is_worked_through_in_one_run_without_sleeping(
    acme, alpha, destination, receiver, settings, monkeypatch
):
    Destination.objects.filter(pk=destination.pk).update(batch_size=2)
    monkeypatch.setattr(webhooks, "TURN_SECONDS", 0)  # one batch per turn: pass after pass
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail("the job slept"))
    made = make_events(acme, alpha, 11)

    result = jobs.deliver_webhooks()

    assert result == {"delivered": 12}  # its own destination.created, then the eleven
    assert delivered_sequences(receiver) == [destination.cursor + 1] + [e.sequence for e in made]
    run = JobRun.objects.get(name="deliver-webhooks")
    assert run.finished_at >= run.started_at and run.last_error == ""
    assert run.result == {"delivered": 12}


def test_the_schedule_names_every_job_and_migrate_keeps_it(db, settings):
    rows = {s.name: s for s in Schedule.objects.all()}
    assert set(rows) == set(schedule.every())
    for name, minutes in schedule.every().items():
        assert rows[name].func == f"operations.jobs.{name}"
        assert callable(getattr(jobs, name))
        assert (rows[name].schedule_type, rows[name].minutes, rows[name].repeats) == (
            Schedule.MINUTES, minutes, -1
        )
    settings.AUDITLOG_CHECKPOINT_INTERVAL_MINUTES = 5
    Schedule.objects.create(name="gone", func="operations.jobs.gone", schedule_type="I")
    schedule.install()
    assert Schedule.objects.get(name="sign_checkpoints").minutes == 5
    assert not Schedule.objects.filter(name="gone").exists()
    assert Schedule.objects.count() == len(schedule.every())


def test_the_scheduler_runs_each_due_job_with_no_cron(acme, alpha, monkeypatch):
    """django-q2's own scheduler turns the due schedules into tasks; run inline here."""
    monkeypatch.setattr(Conf, "SYNC", True)
    monkeypatch.setattr(jobs, "LINK_WATCH_SECONDS", 0)  # one sweep, not most of a minute
    record("project.viewed", organization=acme, project=alpha)
    due = Schedule.objects.get(name="deliver_webhooks").next_run

    scheduler(broker=get_broker())

    assert set(JobRun.objects.values_list("name", flat=True)) == {
        "link-audit-events", "deliver-webhooks", "send-alerts", "operator-requests",
        "roll-up-volumes",
        "sign-checkpoints", "create-partitions", "apply-retention",
    }
    assert not JobRun.objects.exclude(last_error="").exists()
    assert JobRun.objects.get(name="sign-checkpoints").result["verified"] == 3  # organizations
    # Its next run is in the future, whole intervals later (missed ones are not caught up).
    after = Schedule.objects.get(name="deliver_webhooks").next_run
    assert after > timezone.now() and (after - due) % timedelta(minutes=1) == timedelta(0)


def test_a_task_held_by_a_killed_worker_is_handed_out_again(db):
    broker = get_broker()
    broker.enqueue("a signed task package")
    ((task_id, package),) = broker.dequeue()  # a worker takes it... and is killed
    assert broker.dequeue() is None  # meanwhile no other worker runs it twice
    # Once its retry time (longer than any task may run) has passed, it is handed out again.
    OrmQ.objects.filter(pk=task_id).update(lock=timezone.now() - timedelta(seconds=1))
    assert broker.dequeue() == [(task_id, package)]
    assert Conf.RETRY > Conf.TIMEOUT


def test_run_job_runs_one_job_now(acme, alpha, destination, receiver):
    make_events(acme, alpha, 2)
    call_command("run_job", "deliver_webhooks", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert len(receiver.delivered) == 3


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_deliver_each_event_once(
    acme, alpha, destination, receiver, settings
):
    Destination.objects.filter(pk=destination.pk).update(batch_size=3)
    made = make_events(acme, alpha, 40)
    start = threading.Barrier(2)

    def worker():
        start.wait()
        try:
            jobs.deliver_webhooks()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert delivered_sequences(receiver) == [destination.cursor + 1] + [e.sequence for e in made]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_subscription_another_worker_holds_is_not_mailed_twice(acme, admin, bot):
    membership = admin.memberships.get(organization=acme)
    services.alert_preference_set(membership=membership, critical_events=True)
    project_services.chatbot_delete(chatbot=bot)
    subscription = AlertSubscription.objects.get(membership=membership)
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        with transaction.atomic():
            AlertSubscription.objects.select_for_update().get(pk=subscription.pk)
            holding.set()
            release.wait(timeout=30)
        connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    holding.wait(timeout=30)
    try:
        assert alerts.send_alerts() == 0  # skipped, not waited for
    finally:
        release.set()
        thread.join(timeout=30)
    assert alerts.send_alerts() == 1
    assert len(mail.outbox) == 1

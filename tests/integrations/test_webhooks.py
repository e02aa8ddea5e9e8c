"""The webhook worker against a real HTTP receiver on 127.0.0.1: signatures, order, retries,
pausing, and nothing lost across a worker restart."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from auditlogs import record
from auditlogs.integrity import signing
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.integrity.checkpoints import SignedStatement
from integrations import services, ssrf, webhooks
from integrations.models import Destination
from orgs.models import Plan
from tests.helpers.clients import signed_in
from tests.helpers.events import as_stored


@pytest.fixture
def destination(acme, owner, receiver):
    return services.destination_create(
        organization=acme, name="SIEM", url=receiver.url, secret="s3cret-for-tests-only",
        created_by=owner,
    )


def make_events(organization, project, count):
    return as_stored([
        record("project.viewed", organization=organization, project=project)
        for _ in range(count)
    ])


def run_worker():
    call_command("deliver_audit_events", stdout=open("/dev/null", "w"))  # noqa: SIM115


def sequences(events):
    return [event["sequence"] for event in events]


def expected_after(destination, made):
    """Its own `destination.created` event comes first, then the events made since."""
    return [destination.cursor + 1] + [event.sequence for event in made]


def test_it_delivers_new_events_signed_and_in_order(acme, alpha, destination, receiver):
    made = make_events(acme, alpha, 5)
    run_worker()
    assert sequences(receiver.delivered) == expected_after(destination, made)
    (request,) = receiver.requests
    headers = request["headers"]
    timestamp, signature = headers["X-AuditLogs-Timestamp"], headers["X-AuditLogs-Signature"]
    # What a receiver does, written out independently of the sender's code:
    expected = hmac.new(
        b"s3cret-for-tests-only", timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    assert signature == f"v1={expected}"
    assert webhooks.verify("s3cret-for-tests-only", timestamp, request["body"], signature)
    assert not webhooks.verify("wrong-secret", timestamp, request["body"], signature)
    assert headers["Content-Type"] == "application/json" and request["path"] == "/hook"
    body = json.loads(request["body"])
    assert body["organization"] == "acme" and body["events"][-1]["action"] == "project.viewed"
    destination.refresh_from_db()
    assert destination.cursor == made[-1].sequence and destination.status == "active"
    assert destination.last_delivered_at is not None


def test_only_events_after_creation_are_sent_and_each_once(acme, alpha, owner, receiver):
    before = make_events(acme, alpha, 2)
    destination = services.destination_create(
        organization=acme, name="SIEM", url=receiver.url, secret="s3cret-for-tests-only",
        created_by=owner,
    )
    after = make_events(acme, alpha, 2)
    run_worker()
    run_worker()
    delivered = sequences(receiver.delivered)
    assert delivered[0] == before[-1].sequence + 1  # its own destination.created event
    assert delivered[-2:] == [e.sequence for e in after] and len(set(delivered)) == len(delivered)
    destination.refresh_from_db()
    assert destination.cursor == after[-1].sequence


def test_batches_follow_each_other_in_order(acme, alpha, destination, receiver):
    Destination.objects.filter(pk=destination.pk).update(batch_size=3)
    made = make_events(acme, alpha, 11)
    run_worker()
    assert len(receiver.requests) == 4
    assert sequences(receiver.delivered) == expected_after(destination, made)


def test_a_pass_with_nothing_new_reads_no_events(owner, acme, alpha, destination, receiver):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations import alerts

    services.alert_preference_set(
        membership=owner.memberships.get(organization=acme), critical_events=True
    )
    make_events(acme, alpha, 3)
    run_worker()  # sends everything, moves every cursor to the head
    with CaptureQueriesContext(connection) as queries:
        assert webhooks.deliver_due() == 0
        assert alerts.send_alerts() == 0
    assert not [q for q in queries.captured_queries if 'FROM "auditlogs_auditevent"' in q["sql"]]


def test_failures_are_retried_with_exponential_backoff(
    acme, alpha, destination, receiver, settings
):
    settings.AUDITLOG_WEBHOOK_BACKOFF_BASE = 10
    destination_before = Destination.objects.get(pk=destination.pk)
    receiver.fail_next = 2
    made = make_events(acme, alpha, 3)
    start = timezone.now()
    webhooks.deliver_due(now=start)
    destination.refresh_from_db()
    assert destination.status == "failing" and destination.failed_attempts == 1
    assert destination.last_error == "The receiver answered HTTP 503 Service Unavailable."
    assert destination.next_attempt_at == start + timedelta(seconds=10)

    webhooks.deliver_due(now=start + timedelta(seconds=5))  # not due yet: nothing is sent
    assert len(receiver.requests) == 1

    webhooks.deliver_due(now=start + timedelta(seconds=10))
    destination.refresh_from_db()
    assert destination.failed_attempts == 2
    assert destination.next_attempt_at == start + timedelta(seconds=10 + 20)

    webhooks.deliver_due(now=start + timedelta(seconds=30))
    destination.refresh_from_db()
    assert destination.status == "active" and destination.failed_attempts == 0
    assert sequences(receiver.delivered) == expected_after(destination_before, made)
    assert destination.last_error  # kept for the admin to see what happened


def test_a_destination_failing_for_long_is_paused_and_admins_are_told(
    acme, alpha, admin, destination, receiver, settings, events
):
    settings.AUDITLOG_WEBHOOK_BACKOFF_BASE = 0
    settings.AUDITLOG_WEBHOOK_PAUSE_AFTER = 3600
    first = destination.cursor + 1
    receiver.fail_next = 100
    made = make_events(acme, alpha, 2)
    start = timezone.now()
    webhooks.deliver_due(now=start)
    webhooks.deliver_due(now=start + timedelta(minutes=30))
    destination.refresh_from_db()
    assert destination.status == "failing" and mail.outbox == []

    webhooks.deliver_due(now=start + timedelta(hours=1))
    destination.refresh_from_db()
    assert destination.status == "paused"
    # Each their own message: one address that cannot be mailed does not silence the others.
    assert sorted(message.to for message in mail.outbox) == [["admin@acme.test"],
                                                              ["owner@acme.test"]]
    message = mail.outbox[0]
    assert "“SIEM” was paused" in message.subject and "HTTP 503" in message.body
    (paused,) = events(acme, action="destination.paused")
    assert paused.actor_type == "system"

    attempts = len(receiver.requests)
    webhooks.deliver_due(now=start + timedelta(hours=5))
    assert len(receiver.requests) == attempts  # paused: left alone

    # The admin fixes the receiver and resumes: everything missed arrives, in order.
    receiver.fail_next = 0
    client = signed_in(admin)
    client.post(
        f"/orgs/acme/settings/destinations/{destination.pk}/",
        {"name": "SIEM", "url": receiver.url},
    )
    run_worker()
    delivered = sequences(receiver.delivered)
    assert delivered[:3] == [first] + [e.sequence for e in made]
    assert delivered == sorted(delivered) and delivered[-1] == paused.sequence + 1  # .updated


def test_nothing_is_lost_across_a_worker_restart(acme, alpha, destination, receiver, settings,
                                                 monkeypatch):
    Destination.objects.filter(pk=destination.pk).update(batch_size=4)
    first = destination.cursor + 1
    made = make_events(acme, alpha, 9)
    real_delivered = Destination.delivered
    calls = {"n": 0}

    def crash_on_second_batch(self, sequence, now):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed after sending, before saving the cursor")
        return real_delivered(self, sequence, now)

    monkeypatch.setattr(Destination, "delivered", crash_on_second_batch)
    with pytest.raises(SystemExit):
        webhooks.deliver_due()
    monkeypatch.setattr(Destination, "delivered", real_delivered)
    more = make_events(acme, alpha, 3)
    run_worker()  # the restarted worker

    delivered = sequences(receiver.delivered)
    expected = [first] + [e.sequence for e in made + more]
    assert sorted(set(delivered)) == expected  # nothing lost
    # At least once: the batch whose cursor was not saved comes again, in the same order.
    assert delivered == expected[:8] + expected[4:]


def test_the_address_is_checked_again_at_delivery(acme, alpha, destination, receiver, monkeypatch):
    make_events(acme, alpha, 1)
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["10.0.0.7"])
    run_worker()
    destination.refresh_from_db()
    assert receiver.requests == []
    assert destination.status == "failing"
    assert destination.last_error == f"127.0.0.1 resolves to {ssrf.PRIVATE_OR_RESERVED}."


def test_loopback_is_refused_at_delivery_once_the_setting_is_off(acme, alpha, destination, receiver,
                                                                settings):
    make_events(acme, alpha, 1)
    settings.AUDITLOG_WEBHOOK_ALLOW_LOOPBACK = False
    run_worker()
    destination.refresh_from_db()
    assert receiver.requests == [] and "must start with https" in destination.last_error


def test_free_plan_organizations_get_no_deliveries(acme, alpha, destination, receiver):
    make_events(acme, alpha, 1)
    acme.plan = Plan.FREE
    acme.save()
    run_worker()
    assert receiver.requests == []


def test_an_unreachable_receiver_is_a_failure_not_a_crash(acme, alpha, destination, receiver):
    receiver.server.shutdown()
    receiver.server.server_close()
    make_events(acme, alpha, 1)
    run_worker()
    destination.refresh_from_db()
    assert destination.status == "failing"
    assert destination.last_error.startswith("Could not deliver to 127.0.0.1:")


def test_signed_checkpoints_go_out_in_payloads_of_their_own(acme, alpha, destination,
                                                           receiver):
    """Customers hold the witness: every signed checkpoint reaches the destination, in a
    payload a receiver tells apart from events, and verifies with the public key alone."""
    make_events(acme, alpha, 3)
    signed, _ = checkpoint(acme)
    run_worker()
    bodies = [json.loads(request["body"]) for request in receiver.requests]
    assert [body["type"] for body in bodies] == ["auditlogs.events", "auditlogs.checkpoints"]
    (sent,) = receiver.accepted("checkpoints")
    assert sent == SignedStatement.of(signed).as_json()
    public_key = signing.public_key()
    statement = {k: v for k, v in sent.items() if k not in ("key_id", "signature")}
    assert signing.signature_is_valid(
        public_key, json.dumps(statement, sort_keys=True, separators=(",", ":")).encode(),
        sent["signature"],
    )
    destination.refresh_from_db()
    assert destination.checkpoint_cursor == signed.pk
    run_worker()  # nothing new: nothing sent again
    assert len(receiver.requests) == 2
    make_events(acme, alpha, 1)
    checkpoint(acme)
    run_worker()
    assert [c["sequence"] for c in receiver.accepted("checkpoints")] == [4, 5]

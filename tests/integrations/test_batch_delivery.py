"""Batch delivery: each destination receives its backlog as signed lists of at most its own
batch size, in sequence order, each event once, in one run of the worker's job, over one
kept-alive connection; one slow or failing receiver does not hold the others back."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from auditlogs import record
from auditlogs.integrity import retention
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.models import AuditEvent
from auditlogs.recording.context import Actor, acting_as
from integrations import services, ssrf, webhooks
from integrations.models import Destination
from integrations.serializers import event_dict, event_rows
from operations import jobs
from tests.helpers.clients import signed_in
from tests.helpers.events import as_stored
from tests.helpers.integrity import fill
from tests.helpers.receivers import is_signed

SECRET = "s3cret-for-tests-only"


def add_destination(organization, owner, receiver, name: str, batch_size: int, path="/hook"):
    return services.destination_create(
        organization=organization, name=name, url=receiver.url.replace("/hook", path),
        secret=SECRET, created_by=owner, batch_size=batch_size,
    )


def make_events(organization, project, count):
    return as_stored([record("project.viewed", organization=organization, project=project)
                      for _ in range(count)])


def requests_to(receiver, path):
    return [request for request in receiver.requests if request["path"] == path]


def items(request, key="events"):
    return json.loads(request["body"])[key]



def test_a_backlog_arrives_in_signed_lists_in_one_run_of_the_job(acme, alpha, owner, receiver):
    destination = add_destination(acme, owner, receiver, "SIEM", batch_size=7)
    made = make_events(acme, alpha, 50)

    assert jobs.deliver_webhooks() == {"delivered": 51}  # its destination.created, then 50

    requests = receiver.requests
    assert len(requests) == 8 and all(len(items(request)) <= 7 for request in requests)
    assert all(is_signed(request, SECRET) for request in requests)
    sent = [event for request in requests for event in items(request)]
    expected = [destination.cursor + 1] + [event.sequence for event in made]
    assert [event["sequence"] for event in sent] == expected  # in order, each once
    # The shape of the export and the API, field for field.
    rows = event_rows(AuditEvent.objects.filter(organization=acme, sequence__in=expected)
                      .order_by("sequence"))
    assert sent == [event_dict(row) for row in rows]
    assert json.loads(requests[0]["body"]).keys() == {"type", "destination", "organization",
                                                      "events"}
    # One connection for the whole turn (keep-alive), not one per batch.
    assert len({request["client"] for request in requests}) == 1
    destination.refresh_from_db()
    assert destination.cursor == made[-1].sequence
    assert jobs.deliver_webhooks() == {"delivered": 0}


def test_each_destination_has_its_own_batch_size(acme, alpha, owner, receiver):
    add_destination(acme, owner, receiver, "Small", batch_size=3, path="/small")
    add_destination(acme, owner, receiver, "Large", batch_size=10, path="/large")
    make_events(acme, alpha, 20)

    jobs.deliver_webhooks()

    small, large = requests_to(receiver, "/small"), requests_to(receiver, "/large")
    assert [len(items(r)) for r in small] == [3] * 7 + [1]  # 22: both creations and 20
    assert [len(items(r)) for r in large] == [10, 10, 1]  # 21: its own creation and after
    assert [e["sequence"] for r in small for e in items(r)][-21:] == [
        e["sequence"] for r in large for e in items(r)
    ]


def test_a_failing_destination_does_not_hold_back_another(acme, alpha, owner, receiver):
    failing = add_destination(acme, owner, receiver, "Broken", batch_size=5, path="/broken")
    working = add_destination(acme, owner, receiver, "Working", batch_size=5, path="/working")
    receiver.failing_paths.add("/broken")
    made = make_events(acme, alpha, 30)

    jobs.deliver_webhooks()

    delivered = [e["sequence"] for r in requests_to(receiver, "/working") for e in items(r)]
    assert delivered == [working.cursor + 1] + [event.sequence for event in made]
    failing.refresh_from_db()
    assert failing.status == "failing" and failing.failed_attempts == 1
    assert len(requests_to(receiver, "/broken")) == 1  # backing off, not hammered


def test_a_slow_destination_takes_turns_with_the_others(acme, alpha, owner, receiver,
                                                      monkeypatch):
    monkeypatch.setattr(webhooks, "TURN_SECONDS", 0.05)
    slow = add_destination(acme, owner, receiver, "A slow one", batch_size=1, path="/slow")
    add_destination(acme, owner, receiver, "B quick one", batch_size=100, path="/quick")
    receiver.slow_paths["/slow"] = 0.03
    make_events(acme, alpha, 10)

    jobs.deliver_webhooks()

    paths = [request["path"] for request in receiver.requests]
    # The slow one went first (neither had been tried, and it is older) but had only its
    # turn: the quick one had everything long before the slow one was through.
    assert paths.index("/quick") < paths.index("/slow") + 5 < len(paths) - 5
    slow.refresh_from_db()
    assert slow.cursor == AuditEvent.objects.filter(organization=acme).latest("sequence").sequence


def test_checkpoints_go_in_batches_of_the_same_size(acme, alpha, owner, receiver):
    add_destination(acme, owner, receiver, "SIEM", batch_size=2)
    for _ in range(3):
        make_events(acme, alpha, 1)
        checkpoint(acme)

    jobs.deliver_webhooks()

    payloads = [json.loads(r["body"]) for r in receiver.requests]
    batches = [p["checkpoints"] for p in payloads if p["type"] == "auditlogs.checkpoints"]
    assert [len(batch) for batch in batches] == [2, 1]
    assert [c["sequence"] for batch in batches for c in batch] == sorted(
        c["sequence"] for batch in batches for c in batch
    )
    assert all(is_signed(request, SECRET) for request in receiver.requests)


def test_a_new_origin_is_checked_again_before_anything_is_sent_to_it(
    acme, alpha, owner, receiver, monkeypatch
):
    """The kept-alive connection serves one origin: when the URL changes mid-turn to a host
    that resolves to a private address, the next batch is refused, not sent down the old
    connection."""
    destination = add_destination(acme, owner, receiver, "SIEM", batch_size=2)
    make_events(acme, alpha, 5)
    real_delivered = Destination.delivered

    def delivered_then_moved(self, sequence, now):
        real_delivered(self, sequence, now)
        Destination.objects.filter(pk=self.pk).update(url="http://internal.example:8080/hook")

    monkeypatch.setattr(Destination, "delivered", delivered_then_moved)
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: (
        ["10.0.0.7"] if host == "internal.example" else ["127.0.0.1"]
    ))

    jobs.deliver_webhooks()

    assert len(receiver.requests) == 1
    destination.refresh_from_db()
    assert destination.status == "failing"
    assert destination.last_error == f"internal.example resolves to {ssrf.PRIVATE_OR_RESERVED}."


@pytest.mark.parametrize("size", ["0", "1001", "-5", "2.5", "many"])
def test_a_batch_size_out_of_bounds_is_refused_with_a_clear_error(admin, acme, public_dns, size):
    client = signed_in(admin)
    response = client.post("/orgs/acme/settings/destinations/", {
        "name": "SIEM", "url": "https://siem.example.com/hook", "batch_size": size,
    })
    assert response.status_code == 200
    assert "Enter a whole number of events from 1 to 1,000." in response.content.decode()
    assert not Destination.objects.exists()


def test_the_batch_size_is_set_on_creation_and_changed_on_edit(admin, acme, public_dns, events):
    client = signed_in(admin)
    page = client.get("/orgs/acme/settings/destinations/").content.decode()
    assert 'name="batch_size"' in page and 'value="100"' in page
    client.post("/orgs/acme/settings/destinations/",
                {"name": "SIEM", "url": "https://siem.example.com/hook", "batch_size": ""})
    destination = Destination.objects.get()
    assert destination.batch_size == 100  # empty: the default
    edit = f"/orgs/acme/settings/destinations/{destination.pk}/"
    assert 'value="100"' in client.get(edit).content.decode()

    refused = client.post(edit, {"name": "SIEM", "url": destination.url, "batch_size": "5000"})
    assert "Enter a whole number of events from 1 to 1,000." in refused.content.decode()
    client.post(edit, {"name": "SIEM", "url": destination.url, "batch_size": "500"})
    destination.refresh_from_db()
    assert destination.batch_size == 500
    (updated,) = events(acme, action="destination.updated")
    assert updated.changes == {"batch_size": [100, 500]}


def test_events_after_a_retention_gap_still_come(acme, owner, receiver):
    """Batches are read by sequence range (the chain is gapless); where retention removed
    events a destination had not received, the events after the gap are sent, the first
    batch naming the gap."""
    acme.audit_retention_days = 30
    acme.save()
    with acting_as(Actor.system(), at=timezone.now() - timedelta(days=40)):
        fill(acme, 5)
    fill(acme, 3)
    destination = add_destination(acme, owner, receiver, "SIEM", batch_size=2)
    Destination.objects.filter(pk=destination.pk).update(cursor=0)
    retention.apply(acme)

    jobs.deliver_webhooks()

    kept = list(AuditEvent.objects.filter(organization=acme).order_by("sequence")
                .values_list("sequence", flat=True))
    assert kept[0] == 6
    assert [event["sequence"] for event in receiver.delivered] == kept
    gaps = [json.loads(request["body"]).get("gap") for request in receiver.requests]
    assert gaps[0]["first_sequence"] == 1 and gaps[0]["through_sequence"] == 5
    assert gaps[0]["reason"] == "retention" and not any(gaps[1:])

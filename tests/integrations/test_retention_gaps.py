"""Retention does not wait for a paused destination, and the loss is never silent: the next
request tells the receiver which events were removed before they reached it (with the signed
retention cuts that removed them), the destinations page names them, and the pause e-mail
promises only what holds."""

import json
from datetime import timedelta

from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from auditlogs.integrity import retention, signing
from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.models import AuditEvent, Checkpoint
from auditlogs.recording.context import Actor, acting_as
from integrations import services, webhooks
from integrations.models import Destination
from tests.helpers.clients import signed_in
from tests.helpers.integrity import EVENTS, fill, tamper
from tests.helpers.receivers import is_signed

SECRET = "s3cret-for-tests-only"
PAGE = "/orgs/acme/settings/destinations/"


def days_ago(days: int):
    return acting_as(Actor.system(), at=timezone.now() - timedelta(days=days))


def add_destination(organization, owner, receiver):
    return services.destination_create(
        organization=organization, name="SIEM", url=receiver.url, secret=SECRET,
        created_by=owner,
    )


def pause(destination):
    services.destination_update(destination=destination, name=destination.name,
                                url=destination.url, secret="", paused=True)


def resume(admin, destination, receiver):
    """What the admin does: the edit form, Paused unticked."""
    signed_in(admin).post(f"{PAGE}{destination.pk}/", {"name": "SIEM", "url": receiver.url})


def run_worker():
    call_command("deliver_audit_events", stdout=open("/dev/null", "w"))  # noqa: SIM115


def accepted_bodies(receiver) -> list[dict]:
    return [json.loads(r["body"]) for r in receiver.requests if r["status"] == 200]


def sequences_in_log(organization, after: int = 0) -> list[int]:
    return list(AuditEvent.objects.filter(organization=organization, sequence__gt=after)
                .order_by("sequence").values_list("sequence", flat=True))



def cut_verifies(statement: dict) -> bool:
    """A receiver's check of a retention cut, with the organization's public key alone."""
    signed = {k: v for k, v in statement.items() if k not in ("key_id", "signature")}
    message = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    return signing.signature_is_valid(signing.public_key(), message, statement["signature"])


def page(admin) -> str:
    return signed_in(admin).get(PAGE).content.decode()


def test_a_resumed_destination_is_told_what_retention_removed_then_gets_the_rest(
    acme, owner, admin, receiver
):
    acme.audit_retention_days = 30
    acme.save()
    with days_ago(50):
        destination = add_destination(acme, owner, receiver)
        fill(acme, 2)
    run_worker()
    destination.refresh_from_db()
    stopped_at = destination.cursor  # delivered: its creation and the two events
    with days_ago(45):
        pause(destination)
    with days_ago(40):
        fill(acme, 4)  # never delivered: paused
    fill(acme, 3)  # recent: retention keeps them
    receiver.requests.clear()

    removal = retention.apply(acme)

    # The pause (#stopped_at + 1) and the four events after it went with everything older.
    assert (removal.first_sequence, removal.through_sequence) == (1, stopped_at + 5)
    cut = Checkpoint.objects.get(organization=acme, retention_days=30)
    gap = f"events #{stopped_at + 1}–#{stopped_at + 5}"
    html = page(admin)
    assert f"Retention removed {gap} on" in html and "before they were delivered" in html
    assert "The receiver is told with the next delivery." in html

    resume(admin, destination, receiver)
    run_worker()

    first, *rest = accepted_bodies(receiver)
    assert first["gap"] == {
        "first_sequence": stopped_at + 1,
        "through_sequence": stopped_at + 5,
        "reason": "retention",
        "removed_at": SignedStatement.of(cut).as_json()["signed_at"],
        "retention_cuts": [SignedStatement.of(cut).as_json()],
    }
    assert is_signed(receiver.requests[0], SECRET)
    assert cut_verifies(first["gap"]["retention_cuts"][0])
    delivered = first["events"] + [event for body in rest for event in body.get("events", [])]
    # Then every event still in the log, in order, the chain continuing from the signed cut.
    assert [event["sequence"] for event in delivered] == sequences_in_log(acme, stopped_at)
    assert delivered[0]["prev_hash"] == cut.head_hash
    assert all("gap" not in body for body in rest)  # told once

    destination.refresh_from_db()
    assert (destination.gap_first_sequence, destination.gap_through_sequence) == (
        stopped_at + 1, stopped_at + 5
    )
    assert destination.gap_removed_at == cut.signed_at
    html = page(admin)
    assert f"Retention removed {gap} on" in html and "The receiver was told on" in html


def test_a_gap_across_two_retention_runs_names_both_cuts(acme, owner, admin, receiver):
    acme.audit_retention_days = 30
    acme.save()
    with days_ago(60):
        destination = add_destination(acme, owner, receiver)
        pause(destination)
        fill(acme, 3)
    retention.apply(acme)  # removes #1-#5, records its removal as #6
    fill(acme, 2)
    retention.apply(acme, now=timezone.now() + timedelta(days=31))  # #6-#8, recorded as #9
    resume(admin, destination, receiver)

    run_worker()

    body = accepted_bodies(receiver)[0]
    cuts = Checkpoint.objects.filter(organization=acme).order_by("sequence")
    assert [cut.sequence for cut in cuts] == [5, 8]
    assert body["gap"]["first_sequence"] == 1 and body["gap"]["through_sequence"] == 8
    assert body["gap"]["retention_cuts"] == [SignedStatement.of(cut).as_json() for cut in cuts]
    assert body["gap"]["removed_at"] == body["gap"]["retention_cuts"][-1]["signed_at"]
    assert [event["sequence"] for event in body["events"]] == sequences_in_log(acme) == [9, 10]


def test_events_missing_for_another_reason_are_a_gap_that_does_not_blame_retention(
    acme, owner, admin, receiver
):
    destination = add_destination(acme, owner, receiver)
    run_worker()
    destination.refresh_from_db()
    fill(acme, 5)
    missing = destination.cursor + 3
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence = %s",
           [acme.pk, missing])

    run_worker()

    *_, before_hole, after_hole = accepted_bodies(receiver)
    # The batch stops at the hole; the next one starts after it and names it.
    assert [event["sequence"] for event in before_hole["events"]] == [missing - 2, missing - 1]
    assert "gap" not in before_hole
    assert after_hole["gap"] == {"first_sequence": missing, "through_sequence": missing,
                                 "reason": "unexplained", "removed_at": None,
                                 "retention_cuts": []}
    assert [event["sequence"] for event in after_hole["events"]] == [missing + 1, missing + 2]
    assert sequences_in_log(acme)[-1] == missing + 2
    html = page(admin)
    assert f"Event #{missing} was gone from the log before it was delivered" in html
    assert "no retention removed it." in html


def test_the_pause_mail_promises_only_what_retention_leaves(acme, owner, alpha, receiver,
                                                            settings):
    settings.AUDITLOG_WEBHOOK_BACKOFF_BASE = 0
    settings.AUDITLOG_WEBHOOK_PAUSE_AFTER = 0  # the first failure pauses it
    acme.audit_retention_days = 30
    acme.save()
    destination = add_destination(acme, owner, receiver)
    receiver.fail_next = 1

    webhooks.deliver_due()

    assert Destination.objects.get(pk=destination.pk).is_paused
    body = mail.outbox[0].body
    assert "No event is lost" not in body
    assert (f"it gets every event still in the log from where it stopped "
            f"(event #{destination.cursor + 1})") in body
    assert "Events that retention removes meanwhile (this organization keeps events for 30 " \
           "days) can no longer be delivered: the receiver is told which ones" in body

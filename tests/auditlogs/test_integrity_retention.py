"""Retention removes an organization's oldest events through the one privileged path, keeps
the chain verifiable through a signed checkpoint and records what it removed."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from auditlogs.integrity import retention
from auditlogs.integrity.retention import RETENTION_ACTION
from auditlogs.integrity.verification import (
    FAILURE_ACTION,
    Kind,
    integrity_status,
    record_failure,
    verify,
)
from auditlogs.models import AuditEvent, Checkpoint
from auditlogs.recording.context import Actor, acting_as
from tests.helpers.integrity import EVENTS, fill, tamper

pytestmark = pytest.mark.usefixtures("verifier")  # both ways of walking the chain


def fill_old_and_new(organization, old: int, new: int, days_ago: int = 40):
    with acting_as(Actor.system(), at=timezone.now() - timedelta(days=days_ago)):
        fill(organization, old)
    fill(organization, new)


def sequences(organization):
    return list(
        AuditEvent.objects.filter(organization=organization)
        .order_by("sequence").values_list("sequence", flat=True)
    )


def test_it_removes_old_events_and_keeps_the_chain_verifiable(acme, initech, capsys):
    acme.audit_retention_days = 30
    acme.save()
    fill_old_and_new(acme, old=5, new=3)
    fill_old_and_new(initech, old=4, new=1)  # no retention period: kept

    call_command("apply_audit_retention")

    assert "acme: removed 5 events #1–#5" in capsys.readouterr().out
    assert sequences(acme) == [6, 7, 8, 9]
    assert sequences(initech) == [1, 2, 3, 4, 5]
    anchor = Checkpoint.objects.get(organization=acme)
    assert anchor.sequence == 5
    assert anchor.head_hash == AuditEvent.objects.get(organization=acme,
                                                      sequence=6).prev_hash
    report = verify(acme)
    assert report.ok, report.problem
    assert (report.first_sequence, report.last_sequence) == (6, 9)
    removal = AuditEvent.objects.get(organization=acme, action=RETENTION_ACTION)
    assert removal.sequence == 9 and removal.actor_label == "retention"
    assert removal.metadata["removed"] == 5
    assert (removal.metadata["first_sequence"], removal.metadata["through_sequence"]) == (1, 5)
    assert removal.metadata["through_hash"] == anchor.head_hash

    call_command("apply_audit_retention")  # nothing more to remove
    assert sequences(acme) == [6, 7, 8, 9]


def test_a_second_round_is_anchored_too(acme):
    acme.audit_retention_days = 30
    acme.save()
    fill_old_and_new(acme, old=3, new=0, days_ago=60)
    call_command("apply_audit_retention")  # removes #1-#3, records #4
    fill(acme, 2)
    retention.apply(acme, now=timezone.now() + timedelta(days=31))
    assert sequences(acme) == [7]
    report = verify(acme)
    assert report.ok and report.first_sequence == 7
    assert list(Checkpoint.objects.values_list("sequence", flat=True)) == [3, 6]


def test_retention_events_removed_later_leave_no_hole_unvouched(acme):
    acme.audit_retention_days = 30
    acme.save()
    fill_old_and_new(acme, old=4, new=2)
    call_command("apply_audit_retention")
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence = 5", [acme.pk])
    problem = verify(acme).problem
    assert (problem.kind, problem.sequence) == (Kind.MISSING, 5)


def test_a_broken_chain_is_never_pruned(acme, capsys):
    acme.audit_retention_days = 30
    acme.save()
    fill_old_and_new(acme, old=5, new=2)
    tamper(f"UPDATE {EVENTS} SET severity = 30 WHERE organization_id = %s AND sequence = 2",
           [acme.pk])
    with pytest.raises(CommandError, match="Retention skipped acme"):
        call_command("apply_audit_retention", "--org", "acme")
    assert "nothing removed, BROKEN: modified event at event #2" in capsys.readouterr().err
    assert sequences(acme)[:7] == [1, 2, 3, 4, 5, 6, 7]
    assert AuditEvent.objects.filter(organization=acme, action=FAILURE_ACTION).exists()
    assert not Checkpoint.objects.exists()


def test_a_retention_cut_does_not_hide_a_failure_after_it(acme):
    """A retention cut vouches only for the events up to it: signed after a failure further
    on, it must not turn the page's "Integrity warning" back into "Verified"."""
    acme.audit_retention_days = 30
    acme.save()
    fill_old_and_new(acme, old=4, new=3)
    tamper(f"UPDATE {EVENTS} SET severity = 30 WHERE organization_id = %s AND sequence = 6",
           [acme.pk])
    record_failure(acme, verify(acme))
    assert integrity_status(acme).state == "broken"

    retention.apply(acme)  # the chain verifies through #4, so the cut is signed

    assert Checkpoint.objects.get(organization=acme).is_retention_cut
    status = integrity_status(acme)
    assert status.state == "broken" and "modified event at event #6" in status.problem


def test_a_dry_run_removes_nothing(acme, capsys):
    acme.audit_retention_days = 30
    acme.save()
    fill_old_and_new(acme, old=3, new=1)
    call_command("apply_audit_retention", "--dry-run")
    assert "acme: would remove 3 events #1–#3" in capsys.readouterr().out
    assert sequences(acme) == [1, 2, 3, 4]

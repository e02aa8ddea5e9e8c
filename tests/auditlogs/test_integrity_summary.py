"""The integrity line of the Audit Logs page, kept in the cache until a checkpoint is signed or a
failure is recorded (auditlogs/integrity/summary.py), and moving with the chain's head."""

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from auditlogs.conf import app_settings
from auditlogs.integrity import verification
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.integrity.summary import integrity_summary
from auditlogs.integrity.verification import integrity_status, record_failure, verify
from tests.helpers.clients import signed_in
from tests.helpers.integrity import EVENTS, fill, tamper

PAGE = "/orgs/acme/settings/audit-logs/"


def summary_and_reads(organization):
    """The summary, and whether its evidence was read from the database (not the cache)."""
    with mock.patch(
        "auditlogs.integrity.summary.integrity_evidence",
        wraps=verification.integrity_evidence,
    ) as evidence:
        status = integrity_summary(organization)
    assert status == integrity_status(organization)  # what the uncached reads say
    return status, evidence.call_count


def alter_severity(organization, sequence: int) -> None:
    tamper(f"UPDATE {EVENTS} SET severity = CASE severity WHEN 30 THEN 20 ELSE 30 END "
           "WHERE organization_id = %s AND sequence = %s", [organization.pk, sequence])


def test_the_summary_is_read_once_until_a_checkpoint_or_a_failure(acme):
    fill(acme, 3)
    checkpoint(acme)
    status, reads = summary_and_reads(acme)
    assert (status.state, status.sequence, status.pending, reads) == ("verified", 3, 0, 1)
    assert summary_and_reads(acme)[1] == 0  # from the cache

    fill(acme, 2)  # the head moves: the count of newer events follows without a read
    status, reads = summary_and_reads(acme)
    assert (status.state, status.sequence, status.pending, reads) == ("verified", 3, 2, 0)

    checkpoint(acme)  # a new checkpoint is read at once
    status, reads = summary_and_reads(acme)
    assert (status.state, status.sequence, status.pending, reads) == ("verified", 5, 0, 1)

    alter_severity(acme, 2)
    record_failure(acme, verify(acme))  # and so is a recorded failure
    status, reads = summary_and_reads(acme)
    assert (status.state, status.sequence, reads) == ("broken", 2, 1)
    assert "modified event at event #2" in status.problem


def test_a_cached_summary_turns_stale_when_the_checkpoint_is_overdue(acme):
    fill(acme, 2)
    checkpoint(acme)
    fill(acme, 1)
    assert summary_and_reads(acme)[0].state == "verified"
    later = timezone.now() + timedelta(hours=app_settings.CHECKPOINT_MAX_AGE_HOURS + 1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        status, reads = summary_and_reads(acme)
    assert (status.state, status.pending, reads) == ("stale", 1, 0)


def test_the_page_never_says_verified_after_a_failure_is_recorded(acme, admin):
    fill(acme, 4)
    checkpoint(acme)
    client = signed_in(admin)
    assert "Verified through event #4 at" in client.get(PAGE).text  # now in the cache
    alter_severity(acme, 3)
    record_failure(acme, verify(acme))
    page = client.get(PAGE).text
    assert "Integrity warning" in page and "modified event at event #3" in page
    assert "Verified through" not in page


def test_organizations_do_not_share_a_summary(acme, initech):
    fill(acme, 3)
    checkpoint(acme)
    fill(initech, 1)
    assert integrity_summary(acme).state == "verified"
    assert integrity_summary(initech).state == "unverified"

"""No lock stalls the site: while another connection holds an organization's chain lock (a
linker, a bulk write, a long transaction), its changes and their events still commit at once
(record() takes no lock: the event waits unlinked), its pages answer, and the events are linked
as soon as the lock is free. Only the bulk paths and the sweep wait for the lock, at most
AUDITLOG_CHAIN_LOCK_TIMEOUT_MS (PostgreSQL: SQLite has no row locks)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.urls import reverse

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.recording import sequencer
from auditlogs.recording.recorder import ChainLockTimeout, append, build_event
from auditlogs.storage.backends import is_postgresql
from integrations import services
from projects.models import Project
from tests.helpers.clients import signed_in
from tests.helpers.integrity import LockHolder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgresql(), reason="row locks are PostgreSQL's"),
]


@pytest.fixture
def short_lock_timeout(settings):
    settings.AUDITLOG_CHAIN_LOCK_TIMEOUT_MS = 200


def unlinked(organization) -> int:
    return AuditEvent.objects.filter(organization=organization, sequence__isnull=True).count()


@pytest.mark.parametrize("history", [False, True], ids=["first-event", "later-event"])
def test_a_change_commits_at_once_and_its_event_is_linked_when_the_lock_is_free(
    acme, alpha, history, settings
):
    """The holder locks an existing head, or (first event) one it created and not committed."""
    settings.AUDITLOG_CHAIN_LOCK_TIMEOUT_MS = 60_000  # a writer that waited would show
    if history:
        record("project.viewed", organization=acme, project=alpha)
    with LockHolder(acme) as holder:
        started = time.monotonic()
        with transaction.atomic():
            Project.objects.filter(pk=alpha.pk).update(name="Renamed")
            event = record("project.updated", organization=acme, project=alpha)
        assert time.monotonic() - started < 1
        assert holder.still_holding
        assert Project.objects.get(pk=alpha.pk).name == "Renamed"
        assert AuditEvent.objects.get(pk=event.pk).sequence is None  # waiting for the chain
    assert sequencer.sweep()["linked"] == 1
    assert AuditEvent.objects.get(pk=event.pk).sequence == (2 if history else 1)
    assert unlinked(acme) == 0
    with connection.cursor() as cursor:  # the sweep's bounded wait ended with its transaction
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_web_change_and_the_page_answer_while_the_lock_is_held(
    acme, alpha, admin, owner, events, settings
):
    settings.AUDITLOG_CHAIN_LOCK_TIMEOUT_MS = 60_000
    settings.AUDITLOG_API_RATE_LIMIT = 1000
    deleted = record("project.viewed", organization=acme, project=alpha)
    _, secret = services.api_token_create(
        organization=acme, name="SIEM", created_by=owner, expires_in_days=None
    )
    client = signed_in(admin)
    page = reverse("audit_log", args=["acme"])
    with LockHolder(acme) as holder:
        started = time.monotonic()
        change = client.post(
            f"/orgs/acme/projects/{alpha.slug}/edit/", {"name": "Renamed", "description": ""}
        )
        responses = [
            client.get(page),  # with the integrity summary
            client.get(page, headers={"HX-Request": "true"}),  # the results partial
            client.get(reverse("audit_event", args=["acme", deleted.pk])),  # Info
            signed_in(None).get(
                "/api/v1/orgs/acme/audit-events", headers={"Authorization": f"Bearer {secret}"}
            ),
            client.get(reverse("audit_log_export", args=["acme", "csv"])),
        ]
        assert time.monotonic() - started < 5
        assert holder.still_holding, "a request waited for the lock"
        assert unlinked(acme) >= 2  # the change's event and the page's daily view
    assert change.status_code == 302
    assert [r.status_code for r in responses] == [200] * 5
    assert Project.objects.get(pk=alpha.pk).name == "Renamed"
    assert "Project updated" in responses[1].text  # listed at once, linked or not
    sequencer.sweep()
    assert unlinked(acme) == 0
    assert [e.sequence for e in events(acme)] == list(range(1, len(events(acme)) + 1))
    assert len(events(acme, action="audit_log.viewed", actor_id=admin.pk)) == 1


def test_a_bulk_write_waits_at_most_the_timeout_then_gives_up_with_a_clear_error(
    acme, short_lock_timeout
):
    before = AuditEvent.objects.filter(organization=acme).count()
    with LockHolder(acme) as holder:
        with pytest.raises(ChainLockTimeout, match="is busy"):
            append(acme.pk, [build_event("project.viewed", organization=acme)])
        assert holder.still_holding
        assert sequencer.sweep(wait=True)["busy_organizations"] == []  # nothing to link
        record("project.viewed", organization=acme)
        assert sequencer.sweep(wait=True)["busy_organizations"] == [acme.pk]
    assert AuditEvent.objects.filter(organization=acme).count() == before + 1
    append(acme.pk, [build_event("project.viewed", organization=acme)])
    sequences = list(AuditEvent.objects.filter(organization=acme).order_by("sequence")
                     .values_list("sequence", flat=True))
    assert sequences == list(range(1, before + 3))  # the waiting event first, then the bulk


def test_other_organizations_link_while_one_is_locked(acme, initech, initech_project):
    with LockHolder(acme) as holder:
        event = record("project.viewed", organization=initech, project=initech_project)
        assert AuditEvent.objects.get(pk=event.pk).sequence == 1  # linked after its commit
        assert holder.still_holding


def test_a_daily_read_record_is_claimed_without_the_chain_lock_and_never_waits(acme, owner):
    """Of two first reads of the day at once, one records; the other neither waits nor
    records twice. Neither needs the chain lock, which a linker may be holding."""
    from django.utils import timezone

    from auditlogs import record_once_a_day
    from auditlogs.recording.context import Actor

    actor = Actor.for_user(owner)
    tzinfo = timezone.get_current_timezone()
    claimed, release = threading.Event(), threading.Event()

    def first_read():  # records and holds its transaction open, as a slow request would
        try:
            with transaction.atomic():
                assert record_once_a_day("audit_log.viewed", organization=acme, actor=actor,
                                         tzinfo=tzinfo)
                claimed.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    reader = threading.Thread(target=first_read, daemon=True)
    with LockHolder(acme):
        reader.start()
        assert claimed.wait(timeout=10)
        started = time.monotonic()
        assert record_once_a_day("audit_log.viewed", organization=acme, actor=actor,
                                 tzinfo=tzinfo) is False  # left to a later read
        assert time.monotonic() - started < 1
        release.set()
        reader.join(timeout=10)
    assert record_once_a_day("audit_log.viewed", organization=acme, actor=actor, tzinfo=tzinfo)
    assert AuditEvent.objects.filter(organization=acme, action="audit_log.viewed").count() == 1

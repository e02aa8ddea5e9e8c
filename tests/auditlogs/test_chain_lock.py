"""No lock stalls the site: while another connection holds an organization's chain lock, its
writers give up after AUDITLOG_CHAIN_LOCK_TIMEOUT_MS (their change rolls back; a web request
gets a 503 with Retry-After) and its readers never wait at all (PostgreSQL: SQLite has no row
locks, its writers queue on the database's busy timeout)."""

import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.recording.recorder import ChainLockTimeout, locked_head
from auditlogs.storage.backends import is_postgresql
from integrations import services
from projects.models import Project
from tests.helpers.clients import signed_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgresql(), reason="row locks are PostgreSQL's"),
]


class LockHolder:
    """Another connection (a thread has its own) holding an organization's chain lock, as a
    long transaction would, until released (or, should a test hang on it, for 60 s)."""

    def __init__(self, organization):
        self.organization = organization
        self.locked, self.release, self.released = (threading.Event() for _ in range(3))
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self):
        try:
            with transaction.atomic():
                locked_head(self.organization.pk)
                self.locked.set()
                self.release.wait(timeout=60)
        finally:
            self.released.set()
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(timeout=10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(timeout=10)

    @property
    def still_holding(self) -> bool:
        return not self.released.is_set()


@pytest.fixture
def short_lock_timeout(settings):
    settings.AUDITLOG_CHAIN_LOCK_TIMEOUT_MS = 200


@pytest.mark.parametrize("history", [False, True], ids=["first-event", "later-event"])
def test_a_writer_gives_up_with_a_clear_error_and_its_change_rolls_back(
    acme, alpha, short_lock_timeout, history
):
    """The holder locks an existing head, or (first event) one it created and not committed."""
    if history:
        record("project.viewed", organization=acme, project=alpha)
    before = AuditEvent.objects.filter(organization=acme).count()
    with LockHolder(acme) as holder:
        with pytest.raises(ChainLockTimeout, match="is busy"), transaction.atomic():
            Project.objects.filter(pk=alpha.pk).update(name="Renamed")
            record("project.updated", organization=acme, project=alpha)
        assert holder.still_holding
    assert Project.objects.get(pk=alpha.pk).name == "Alpha"
    assert AuditEvent.objects.filter(organization=acme).count() == before
    # Free again: the same write goes through, and the lock wait is back to the session's.
    record("project.updated", organization=acme, project=alpha)
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_web_change_that_cannot_get_the_lock_gets_a_503_with_retry_after(
    acme, alpha, admin, short_lock_timeout, events
):
    client = signed_in(admin)
    with LockHolder(acme) as holder:
        response = client.post(
            f"/orgs/acme/projects/{alpha.slug}/edit/", {"name": "Renamed", "description": ""}
        )
        assert holder.still_holding
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "The audit log is busy" in response.text and "Nothing was changed" in response.text
    assert Project.objects.get(pk=alpha.pk).name == "Alpha"
    assert events(acme, action="project.updated") == []


def test_reading_the_log_never_waits_for_a_writer(acme, beta, owner, events, settings):
    settings.AUDITLOG_CHAIN_LOCK_TIMEOUT_MS = 60_000  # a writer would wait longer than the hold
    settings.AUDITLOG_API_RATE_LIMIT = 1000
    event = record("project.deleted", organization=acme, project=beta)
    _, secret = services.api_token_create(
        organization=acme, name="SIEM", created_by=owner, expires_in_days=None
    )
    client = signed_in(owner)
    page = reverse("audit_log", args=["acme"])
    with LockHolder(acme) as holder:
        responses = [
            client.get(page),  # with the integrity summary
            client.get(page, headers={"HX-Request": "true"}),  # the results partial
            client.get(reverse("audit_event", args=["acme", event.pk])),  # Info
            signed_in(None).get(
                "/api/v1/orgs/acme/audit-events", headers={"Authorization": f"Bearer {secret}"}
            ),
        ]
        assert holder.still_holding, "a read waited for the writer to finish"
    assert [r.status_code for r in responses] == [200] * 4
    assert events(acme, action="audit_log.viewed") == []  # left to a later read
    client.get(page)
    assert len(events(acme, action="audit_log.viewed", actor_id=owner.pk)) == 1


def test_an_export_waits_at_most_the_timeout_then_answers_503_unrecorded(
    acme, owner, short_lock_timeout, events
):
    """An export must be recorded, so it is the one read that takes the lock: bounded."""
    client = signed_in(owner)
    with LockHolder(acme) as holder:
        response = client.get(reverse("audit_log_export", args=["acme", "csv"]))
        assert holder.still_holding
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert not response.streaming
    assert events(acme, action="audit_log.exported") == []


def test_other_organizations_write_while_one_is_locked(
    acme, initech, initech_project, short_lock_timeout
):
    with LockHolder(acme) as holder:
        record("project.viewed", organization=initech, project=initech_project)
        assert holder.still_holding

"""Helpers for the integrity tests: a varied chain, and tampering made for real.

Tampering goes around the append-only triggers the way an attacker with database access
would: on PostgreSQL as the superuser with `session_replication_role = replica` (triggers do
not fire), on SQLite by dropping the triggers inside the test's transaction.
"""

import threading
from contextlib import contextmanager

from django.db import connection, transaction

from auditlogs import record
from auditlogs.integrity import guards
from auditlogs.models import AuditEvent
from auditlogs.recording import chain, sequencer
from auditlogs.recording.catalogue import Severity
from auditlogs.storage.backends import backend, is_postgresql
from auditlogs.storage.tables import EVENT_TABLE

EVENTS = EVENT_TABLE
ACTIONS = ["project.viewed", "project.updated", "chatbot.deleted", "member.role_changed"]


def fill(organization, count: int, project=None) -> list[AuditEvent]:
    """`count` events through `record`, with varied severities, metadata and changes."""
    return [
        record(
            ACTIONS[n % len(ACTIONS)],
            organization=organization,
            project=project,
            metadata={"n": n, "note": f"event {n} ✓"},
            changes={"name": [f"old {n}", f"new {n}"]} if n % 3 == 0 else None,
        )
        for n in range(count)
    ]


@contextmanager
def triggers_off():
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute("SET session_replication_role = replica")
        else:
            for trigger in backend().guard_trigger_names():
                cursor.execute(f'DROP TRIGGER "{trigger}"')
        try:
            yield cursor
        finally:
            if is_postgresql():
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                guards.install(connection)


def tamper(sql: str, params=()) -> None:
    with triggers_off() as cursor:
        cursor.execute(sql, params)


def json_value() -> str:
    """The placeholder for a JSON value in raw SQL."""
    return "%s::jsonb" if is_postgresql() else "%s"


def set_sequence(organization, old: int, new: int) -> None:
    tamper(
        f"UPDATE {EVENTS} SET sequence = %s WHERE organization_id = %s AND sequence = %s",
        [new, organization.pk, old],
    )


def swap(organization, first: int, second: int) -> None:
    set_sequence(organization, first, -1)
    set_sequence(organization, second, first)
    set_sequence(organization, -1, second)


def rehash_from(organization, sequence: int) -> None:
    """What an attacker with database access does after an edit: recompute every link from
    `sequence` on, and move the chain head along."""
    rows = AuditEvent.objects.filter(organization_id=organization.pk).order_by("sequence")
    prev_hash = chain.GENESIS_HASH
    with triggers_off() as cursor:
        for event in rows:
            if event.sequence >= sequence:
                new_hash = chain.link_hash(prev_hash, organization.pk, event.__dict__)
                cursor.execute(
                    f"UPDATE {EVENTS} SET prev_hash = %s, hash = %s WHERE id = %s",
                    [prev_hash, new_hash, event.pk],
                )
                prev_hash = new_hash
            else:
                prev_hash = event.hash
            last = event.sequence
        cursor.execute(
            "UPDATE auditlogs_chainhead SET sequence = %s, hash = %s WHERE organization_id = %s",
            [last, prev_hash, organization.pk],
        )


def insert_forged(organization, at: int) -> None:
    """Insert a forged event at #`at`: renumber the later ones, then recompute the chain."""
    events = AuditEvent.objects.filter(organization_id=organization.pk)
    for sequence in sorted(events.filter(sequence__gte=at).values_list("sequence", flat=True),
                           reverse=True):
        set_sequence(organization, sequence, sequence + 1)
    genuine = events.get(sequence=at + 1)
    forged = AuditEvent(
        organization_id=organization.pk, sequence=at, occurred_at=genuine.occurred_at,
        action="member.role_changed", severity=Severity.INFO, actor_type="user",
        actor_label="intruder@evil.test", metadata={"forged": True}, prev_hash="0" * 64,
        hash="0" * 64,
    )
    forged.save()
    rehash_from(organization, at)


class LockHolder:
    """Another connection (a thread has its own) holding an organization's chain lock, as a
    long bulk write would, until released (or, should a test hang on it, for 60 s)."""

    def __init__(self, organization):
        self.organization = organization
        self.locked, self.release, self.released = (threading.Event() for _ in range(3))
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self):
        try:
            with transaction.atomic():
                sequencer.locked_head(self.organization.pk)
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

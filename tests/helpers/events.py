"""Synthetic events for tests that need many."""

from io import StringIO

from django.core.management import call_command


def generate(org, count, **options) -> str:
    """`generate_audit_events` for `org`, marked for synthetic data as the command requires
    (quiet); returns what it printed."""
    type(org).objects.filter(pk=org.pk).update(synthetic_data=True)
    out = StringIO()
    call_command(
        "generate_audit_events", org=org.slug, count=count, stdout=out, stderr=StringIO(),
        **{"days": 30, "seed": 1, **options},
    )
    return out.getvalue()


def as_stored(events: list) -> list:
    """The events record() returned, read back: record() inserts an event unlinked and the
    sequencer links it after commit, so only the stored row carries its sequence and hashes."""
    from auditlogs.models import AuditEvent

    stored = AuditEvent.objects.in_bulk([event.pk for event in events])
    return [stored[event.pk] for event in events]

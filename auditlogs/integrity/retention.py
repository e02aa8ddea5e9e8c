"""Retention: the one privileged path that removes audit events.

For each organization with a retention period, the oldest events (a prefix of its chain,
every event up to the last one before the first event that is still within the period) are
removed like this, in one transaction:

1. the chain is verified through the last event to remove (a broken chain is never pruned:
   that would destroy the evidence), and a checkpoint is signed at exactly that event, so the
   first event kept is vouched for and the chain stays verifiable;
2. a deletion grant for that organization and sequence (auditlogs/integrity/guards.py) opens the
   append-only triggers for exactly those rows, and they are deleted in batches;
3. an `audit_log.retention_applied` event records what was removed.

Month partitions (PostgreSQL) that end up empty are dropped afterwards.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from auditlogs.integrity import checkpointing
from auditlogs.integrity.guards import granted_deletion
from auditlogs.models import AuditEvent
from auditlogs.recording import chain
from auditlogs.recording.context import Actor
from auditlogs.storage import partitions

RETENTION_ACTION = "audit_log.retention_applied"
DELETE_BATCH = 10_000


@dataclass(frozen=True)
class RetentionPlan:
    organization_id: int
    cutoff: datetime
    first_sequence: int
    through_sequence: int
    count: int
    oldest: datetime
    newest: datetime


def plan(organization, now: datetime | None = None) -> RetentionPlan | None:
    """What retention would remove now, or None."""
    days = organization.audit_retention_days
    if not days:
        return None
    cutoff = (now or timezone.now()) - timedelta(days=days)
    events = AuditEvent.objects.filter(organization_id=organization.pk)
    first_kept = events.filter(occurred_at__gte=cutoff).aggregate(s=Min("sequence"))["s"]
    if first_kept is None:
        first_kept = (events.aggregate(s=Max("sequence"))["s"] or 0) + 1
    removable = events.filter(sequence__lt=first_kept).aggregate(
        first=Min("sequence"), count=Count("id"), oldest=Min("occurred_at"),
        newest=Max("occurred_at"),
    )
    if not removable["count"]:
        return None
    return RetentionPlan(
        organization.pk, cutoff, removable["first"], first_kept - 1, removable["count"],
        removable["oldest"], removable["newest"],
    )


def apply(organization, now: datetime | None = None) -> RetentionPlan | None:
    """Remove the events `plan` names; raises checkpointing.IntegrityBroken if the chain does
    not verify through them."""
    from auditlogs import record

    with transaction.atomic():
        removal = plan(organization, now)
        if removal is None:
            return None
        anchor = checkpointing.anchor(organization, removal.through_sequence)
        with granted_deletion(connection, organization.pk, removal.through_sequence):
            deleted = _delete_prefix(organization.pk, removal)
        record(
            RETENTION_ACTION,
            organization=organization,
            actor=Actor.system("retention"),
            metadata={
                "retention_days": organization.audit_retention_days,
                "removed": deleted,
                "first_sequence": removal.first_sequence,
                "through_sequence": removal.through_sequence,
                "through_hash": anchor.head_hash,
                "oldest_removed": chain.format_time(removal.oldest),
                "newest_removed": chain.format_time(removal.newest),
                "checkpoint_signed_at": chain.format_time(anchor.signed_at),
            },
        )
    return removal


def drop_empty_partitions() -> list:
    """Drop the month partitions older than the oldest one still holding events."""
    months = partitions.month_partitions(connection)
    this_month = partitions.month_start(timezone.now())
    first_kept = None
    for month in months:
        if month >= this_month or _partition_has_rows(month):
            first_kept = month
            break
    if first_kept is None:
        return []
    return partitions.drop_partitions_before(first_kept, connection)


def _delete_prefix(organization_id: int, removal: RetentionPlan) -> int:
    deleted = 0
    low = removal.first_sequence
    with connection.cursor() as cursor:
        while low <= removal.through_sequence:
            high = min(low + DELETE_BATCH - 1, removal.through_sequence)
            cursor.execute(
                f'DELETE FROM "{AuditEvent._meta.db_table}" '
                "WHERE organization_id = %s AND sequence >= %s AND sequence <= %s",
                [organization_id, low, high],
            )
            deleted += cursor.rowcount
            low = high + 1
    return deleted


def _partition_has_rows(month) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{partitions.partition_name(month)}" LIMIT 1')
        return cursor.fetchone() is not None

"""Retention: the one privileged path that removes audit events, and the guard on dropping
month partitions.

For each organization with a retention period, the oldest events (a prefix of its chain,
every event up to the last one before the first event that is still within the period) are
removed like this, in one transaction:

1. the chain is verified through the last event to remove (a broken chain is never pruned:
   that would destroy the evidence), and a retention cut is signed at exactly that event: a
   checkpoint stating the policy and the cutoff, so the first event kept is vouched for and
   the verifiers accept a log that now starts after event #1;
2. a deletion grant for that organization and sequence (auditlogs/integrity/guards.py) opens the
   append-only triggers for exactly those rows, and they are deleted in batches;
3. an `audit_log.retention_applied` event records what was removed;
4. the volume chart's hourly rollups stop counting the removed events.

Month partitions (PostgreSQL) are dropped only when no organization has an event left in
them (`drop_months_before`, used by this command and `manage_audit_partitions --drop-before`),
and each drop is recorded in every organization's log.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from auditlogs import record
from auditlogs.integrity import checkpointing, checkpoints
from auditlogs.integrity.guards import granted_deletion
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain
from auditlogs.recording.context import Actor
from auditlogs.storage import partitions, rollups

RETENTION_ACTION = "audit_log.retention_applied"
PARTITIONS_DROPPED_ACTION = "audit_log.partitions_dropped"
DELETE_BATCH = 10_000


class HistoryInMonths(Exception):
    """Dropping these months would erase events no retention removed: nothing was dropped."""

    def __init__(self, months: list, holders: dict[int, int]):
        self.months, self.holders = months, holders  # holders: organization id -> events
        super().__init__(
            f"{sum(holders.values()):,} events of {len(holders)} organizations are still in "
            f"{_month_list(months)}"
        )


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
    with transaction.atomic():
        removal = plan(organization, now)
        if removal is None:
            return None
        anchor = checkpointing.sign_retention_cut(
            organization, removal.through_sequence,
            checkpoints.RetentionCut(organization.audit_retention_days, removal.cutoff),
        )
        # The volume chart's counts lose the same events, in the same transaction.
        rollups.forget(organization.pk, removal.first_sequence, removal.through_sequence)
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
    return drop_months_before(first_kept, actor=Actor.system("retention"))


def drop_months_before(cutoff, *, actor: Actor) -> list:
    """Drop the month partitions before `cutoff` (PostgreSQL), only if none of them holds an
    event: what is left in a month is history no organization's retention has removed, and
    dropping it would erase it unattested. Raises HistoryInMonths naming who still has events
    there. A drop is recorded in the log of every organization with events, in the same
    transaction. Returns the months dropped."""
    months = [m for m in partitions.month_partitions(connection) if m < cutoff]
    if not months:
        return []
    _refuse_if_held(months)  # before locking, so a refusal never makes writers wait
    with transaction.atomic():
        # Counted only under the locks the drop keeps: an insert into one of these months
        # still in flight is waited for, and counted, instead of dropped uncounted.
        months = partitions.lock_months_before(cutoff, connection)
        if not months:
            return []
        _refuse_if_held(months)
        dropped = partitions.drop_partitions_before(cutoff, connection)
        for head in ChainHead.objects.select_related("organization").order_by("pk"):
            record(
                PARTITIONS_DROPPED_ACTION, organization=head.organization, actor=actor,
                metadata={"months": [f"{month:%Y-%m}" for month in dropped],
                          "events_in_them": 0},
            )
    return dropped


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


def _refuse_if_held(months: list) -> None:
    holders = _events_in_months(months)
    if holders:
        raise HistoryInMonths(months, holders)


def _events_in_months(months: list) -> dict[int, int]:
    """Organization id -> how many of its events sit in these months."""
    counts = {}
    for month in months:
        in_month = AuditEvent.objects.filter(
            occurred_at__gte=_instant(month),
            occurred_at__lt=_instant(partitions.add_months(month, 1)),
        )
        for organization_id, count in in_month.values_list("organization_id").annotate(
            n=Count("id")
        ).order_by():
            counts[organization_id] = counts.get(organization_id, 0) + count
    return counts


def _instant(month) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def _month_list(months: list) -> str:
    return ", ".join(f"{month:%Y-%m}" for month in months)


def _partition_has_rows(month) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{partitions.partition_name(month)}" LIMIT 1')
        return cursor.fetchone() is not None

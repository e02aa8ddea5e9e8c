"""Hourly counts of each organization's events by severity, project and action (EventRollup),
kept off the write path: writers of events never touch them.

A roll-up pass follows each organization's chain the way a webhook destination does: from its
RollupCursor, a batch of events at a time (read through the (organization, sequence) index),
counted in the database and added to the hours they fall in, in the same transaction that moves
the cursor. Only events up to the chain head are read, and every one of those is committed (the
head is moved in the transaction that writes them), so nothing is counted twice or skipped.

The worker runs `roll_up_due()`; a page that reads the chart first runs `catch_up()` for its
organization, bounded, so a deployment without a worker (the SQLite default) still has a chart
that is up to date on small logs. Two passes for one organization never count the same events:
the cursor row is claimed (PostgreSQL: skipped when another pass holds it) and moved only from
the value the pass read.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, TruncHour

from auditlogs.conf import app_settings
from auditlogs.models import AuditEvent, ChainHead, EventRollup, RollupCursor, RollupGrouping

_EVENT_KEY = ("hour", "severity", "project_id", "action")
_KEY = ("grouping", *_EVENT_KEY)


class CursorMoved(Exception):
    """Another pass counted these events first."""


@dataclass(frozen=True)
class Progress:
    counted_through: int  # the cursor after the pass
    head: int  # the chain head the pass saw

    @property
    def behind(self) -> int:
        return max(self.head - self.counted_through, 0)


def roll_up_due(batches_per_organization: int = 20) -> int:
    """One pass over every organization whose rollups are behind its chain head; the number
    of events counted."""
    counted = 0
    for organization_id in _behind_organizations():
        before = _cursor_sequence(organization_id)
        progress = catch_up(organization_id, batches_per_organization * app_settings.ROLLUP_BATCH)
        counted += max(progress.counted_through - before, 0)
    return counted


def catch_up(organization_id: int, limit: int) -> Progress:
    """Count up to `limit` of the organization's uncounted events, a batch per transaction."""
    start = progress(organization_id)  # one query when there is nothing to do
    head, through = start.head, start.counted_through
    remaining = limit
    while through < head and remaining > 0:
        size = min(app_settings.ROLLUP_BATCH, remaining)
        try:
            through = _count_batch(organization_id, head, size)
        except CursorMoved:
            through = _cursor_sequence(organization_id)
            break
        remaining -= size
    return Progress(through, head)


def progress(organization_id: int) -> Progress:
    """Where the organization's cursor and chain head are: one statement of plain SQL (the
    page asks on every view; the ORM would spend more compiling it than the database
    answering it)."""
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS_SQL, [organization_id, organization_id])
        counted, head = cursor.fetchone()
    return Progress(counted or 0, head or 0)


_PROGRESS_SQL = f"""
SELECT
  (SELECT sequence FROM {RollupCursor._meta.db_table} WHERE organization_id = %s),
  (SELECT sequence FROM {ChainHead._meta.db_table} WHERE organization_id = %s)
"""


def forget(organization_id: int, first_sequence: int, through_sequence: int) -> None:
    """Take events `first_sequence`..`through_sequence` (about to be removed by retention) out
    of the counts, inside the caller's transaction; events not yet counted never will be."""
    cursor = _claim(organization_id, wait=True)
    counted_through = min(through_sequence, cursor.sequence)
    if counted_through >= first_sequence:
        removed = _counts(organization_id, first_sequence - 1, counted_through)
        _add(organization_id, [(key, -n) for key, n in removed])
    if through_sequence > cursor.sequence:
        _move(cursor, through_sequence)


# The pass ---------------------------------------------------------------------------------


def _behind_organizations() -> list[int]:
    counted = RollupCursor.objects.filter(organization_id=OuterRef("organization_id"))
    heads = ChainHead.objects.annotate(
        counted=Coalesce(Subquery(counted.values("sequence")[:1]), Value(0))
    )
    return list(heads.filter(sequence__gt=F("counted")).values_list("organization_id", flat=True))


def _cursor_sequence(organization_id: int) -> int:
    cursors = RollupCursor.objects.filter(organization_id=organization_id)
    return cursors.values_list("sequence", flat=True).first() or 0


def _count_batch(organization_id: int, head: int, size: int) -> int:
    with transaction.atomic():
        cursor = _claim(organization_id, wait=False)
        if cursor is None:
            raise CursorMoved
        through = min(cursor.sequence + size, head)
        if through <= cursor.sequence:
            return cursor.sequence
        _move(cursor, through)
        _add(organization_id, _counts(organization_id, cursor.sequence, through))
        return through


def _claim(organization_id: int, *, wait: bool) -> RollupCursor | None:
    """The organization's cursor row, locked for this transaction (None when another pass
    holds it and `wait` is false). Created on first use."""
    try:
        with transaction.atomic():
            RollupCursor.objects.get_or_create(organization_id=organization_id)
    except IntegrityError:  # created by another pass meanwhile
        pass
    cursors = RollupCursor.objects.select_for_update(skip_locked=not wait)
    return cursors.filter(organization_id=organization_id).first()


def _move(cursor: RollupCursor, to: int) -> None:
    """Move the cursor from the value this pass read, or give up: on a database without row
    locks (SQLite) another pass may have counted the same events meanwhile."""
    moved = RollupCursor.objects.filter(
        organization_id=cursor.organization_id, sequence=cursor.sequence
    ).update(sequence=to)
    if not moved:
        raise CursorMoved


def _counts(organization_id: int, after: int, through: int) -> list[tuple[tuple, int]]:
    """((grouping, hour, severity, project_id, action), count) of events after..through, read
    by the (organization, sequence) index, in every grouping."""
    events = AuditEvent.objects.filter(
        organization_id=organization_id, sequence__gt=after, sequence__lte=through
    )
    grouped = (
        events.annotate(hour=TruncHour("occurred_at"))
        .values(*_EVENT_KEY)
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple, int] = {}
    for row in grouped:
        hour, severity, project_id, action = (row[k] for k in _EVENT_KEY)
        for key in (
            (RollupGrouping.FULL, hour, severity, project_id, action),
            (RollupGrouping.PROJECT, hour, severity, project_id, ""),
            (RollupGrouping.ACTION, hour, severity, None, action),
            (RollupGrouping.SEVERITY, hour, severity, None, ""),
        ):
            counts[key] = counts.get(key, 0) + row["n"]
    return list(counts.items())


def _add(organization_id: int, deltas: Iterable[tuple[tuple, int]]) -> None:
    """Add counts to their hours: existing rows updated in one statement, new ones inserted in
    another; rows that reach zero deleted."""
    deltas = dict(deltas)
    if not deltas:
        return
    hours = {key[1] for key in deltas}
    existing = {
        tuple(getattr(row, k) for k in _KEY): row
        for row in EventRollup.objects.filter(organization_id=organization_id, hour__in=hours)
    }
    changed, created, emptied = [], [], []
    for key, n in deltas.items():
        row = existing.get(key)
        if row is None:
            if n > 0:
                fields = dict(zip(_KEY, key, strict=True))
                created.append(EventRollup(organization_id=organization_id, count=n, **fields))
            continue
        row.count += n
        (changed if row.count > 0 else emptied).append(row)
    EventRollup.objects.bulk_update(changed, ["count"], batch_size=500)
    EventRollup.objects.bulk_create(created, batch_size=500)
    if emptied:
        EventRollup.objects.filter(pk__in=[row.pk for row in emptied]).delete()


def rows(organization_id: int, *, by_project: bool, by_action: bool):
    """The organization's rollup rows of the coarsest grouping that can be filtered by project
    and/or action as asked (its constant columns pinned, so reads follow the key)."""
    if by_project and by_action:
        return _grouping(organization_id, RollupGrouping.FULL)
    if by_project:
        return _grouping(organization_id, RollupGrouping.PROJECT).filter(action="")
    if by_action:
        return _grouping(organization_id, RollupGrouping.ACTION).filter(project_id__isnull=True)
    return _grouping(organization_id, RollupGrouping.SEVERITY).filter(
        project_id__isnull=True, action=""
    )


def _grouping(organization_id: int, grouping: RollupGrouping):
    return EventRollup.objects.filter(organization_id=organization_id, grouping=grouping)

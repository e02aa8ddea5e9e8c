"""The hourly rollups behind the volume chart: counted from the chain in batches by a pass that
follows a cursor, never by the writers, and kept equal to the events through retention."""

from collections import Counter
from datetime import UTC, timedelta

import pytest
from django.db.models.functions import TruncHour
from django.utils import timezone

from auditlogs import record
from auditlogs.integrity import retention
from auditlogs.models import AuditEvent, EventRollup, RollupCursor, RollupGrouping
from auditlogs.recording.recorder import append, build_event
from auditlogs.storage import rollups

pytestmark = pytest.mark.django_db


def event_counts(organization) -> Counter:
    events = AuditEvent.objects.filter(organization=organization)
    events = events.annotate(h=TruncHour("occurred_at"))
    return Counter(
        (e.h.astimezone(UTC), e.severity, e.project_id, e.action) for e in events
    )


def rollup_counts(organization, grouping=RollupGrouping.FULL) -> Counter:
    rows = EventRollup.objects.filter(organization=organization, grouping=grouping)
    return Counter({
        (r.hour.astimezone(UTC), r.severity, r.project_id, r.action): r.count for r in rows
    })


def coarser(counts: Counter, grouping) -> Counter:
    """Full-grain counts summed the way `grouping` keeps them."""
    summed = Counter()
    for (hour, severity, project_id, action), n in counts.items():
        if grouping in (RollupGrouping.ACTION, RollupGrouping.SEVERITY):
            project_id = None
        if grouping in (RollupGrouping.PROJECT, RollupGrouping.SEVERITY):
            action = ""
        summed[(hour, severity, project_id, action)] += n
    return summed


@pytest.fixture
def history(acme, alpha, beta, initech):
    now = timezone.now()
    append(acme.pk, [
        build_event("project.viewed", organization=acme, project=project, target=project,
                    occurred_at=now - timedelta(hours=hours, minutes=minutes))
        for hours in (50, 26, 3, 1) for minutes in (5, 30) for project in (alpha, beta)
    ])
    record("organization.plan_changed", organization=acme, target=acme)
    record("project.deleted", organization=acme, project=beta, target=beta)
    record("organization.plan_changed", organization=initech, target=initech)


def test_writers_never_touch_the_rollups(history, acme):
    assert not EventRollup.objects.exists()
    assert rollups.progress(acme.pk).behind == 18


def test_a_pass_counts_every_organizations_events_by_hour_severity_project_and_action(
    history, acme, initech
):
    assert rollups.roll_up_due() == 19
    for grouping in RollupGrouping:
        assert rollup_counts(acme, grouping) == coarser(event_counts(acme), grouping)
    assert rollup_counts(initech) == event_counts(initech)
    assert rollups.progress(acme.pk).behind == 0
    assert rollups.roll_up_due() == 0  # nothing behind: nothing read


def test_later_passes_add_only_the_new_events(history, acme, alpha, settings):
    settings.AUDITLOG_ROLLUP_BATCH = 5  # several transactions per pass
    rollups.roll_up_due()
    record("project.viewed", organization=acme, project=alpha, target=alpha)
    assert rollups.roll_up_due() == 1
    assert rollup_counts(acme) == event_counts(acme)


def test_catch_up_is_bounded_and_says_how_far_behind_it_is(history, acme, settings):
    settings.AUDITLOG_ROLLUP_BATCH = 4
    progress = rollups.catch_up(acme.pk, limit=6)
    assert progress.counted_through == 6
    assert progress.behind == 12
    assert sum(rollup_counts(acme).values()) == 6


def test_a_pass_that_read_a_cursor_another_pass_moved_counts_nothing(history, acme):
    rollups.catch_up(acme.pk, limit=5)
    stale = RollupCursor.objects.get(organization=acme)
    rollups.catch_up(acme.pk, limit=5)  # another pass moves the cursor meanwhile
    with pytest.raises(rollups.CursorMoved):
        rollups._move(stale, 8)
    assert sum(rollup_counts(acme).values()) == 10


def test_retention_takes_removed_events_out_of_the_counts(history, acme):
    rollups.catch_up(acme.pk, limit=10)  # some of what retention removes is counted, some not
    acme.audit_retention_days = 2
    acme.save()
    removal = retention.apply(acme)
    assert removal.count == 4  # the events 50 hours old
    rollups.roll_up_due()
    for grouping in RollupGrouping:
        assert rollup_counts(acme, grouping) == coarser(event_counts(acme), grouping)


def test_the_worker_counts_new_events_off_the_request_path(history, acme):
    from io import StringIO

    from django.core.management import call_command

    call_command("deliver_audit_events", stdout=StringIO())
    assert rollup_counts(acme) == event_counts(acme)

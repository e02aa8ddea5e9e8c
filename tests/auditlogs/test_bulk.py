"""generate_audit_events: realistic events through the bulk path, chained like `record`'s."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from auditlogs import record
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain
from auditlogs.recording.catalogue import Severity
from auditlogs.storage import bulk
from projects.models import Project
from tests.helpers.events import generate


def assert_chain_links(organization):
    """Every event, in sequence order, links to its predecessor by `chain.link_hash`."""
    prev, expected_sequence = chain.GENESIS_HASH, 1
    for event in AuditEvent.objects.filter(organization=organization).order_by("sequence"):
        assert event.sequence == expected_sequence
        assert event.prev_hash == prev
        assert event.hash == chain.link_hash(prev, organization.pk, event.__dict__)
        prev, expected_sequence = event.hash, expected_sequence + 1
    head = ChainHead.objects.get(organization=organization)
    assert (head.sequence, head.hash) == (expected_sequence - 1, prev)


def test_it_continues_the_organizations_chain_and_record_continues_after_it(acme):
    record("organization.updated", organization=acme)
    output = generate(acme, 1200, batch_size=500)
    record("organization.updated", organization=acme)

    assert "Wrote 1,200 events for acme" in output
    assert AuditEvent.objects.filter(organization=acme).count() == 1202
    assert_chain_links(acme)


def test_events_are_in_time_order_over_the_days_asked(acme):
    generate(acme, 600, days=10)
    events = list(AuditEvent.objects.filter(organization=acme).order_by("sequence"))
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    assert (times[-1] - times[0]).days >= 9


def test_the_mix_is_mostly_info_with_some_warning_and_critical(acme):
    generate(acme, 3000, actors=50)
    events = AuditEvent.objects.filter(organization=acme)
    severities = Counter(events.values_list("severity", flat=True))
    assert 0.85 < severities[Severity.INFO] / 3000 < 0.95
    assert 0.04 < severities[Severity.WARNING] / 3000 < 0.12
    assert 0.005 < severities[Severity.CRITICAL] / 3000 < 0.04
    assert len(set(events.values_list("actor_label", flat=True))) > 30
    assert len(set(events.values_list("action", flat=True))) > 10


def test_some_projects_named_by_events_are_deleted(acme):
    generate(acme, 2000, projects=5)
    named = set(
        AuditEvent.objects.filter(organization=acme, project_id__isnull=False)
        .values_list("project_id", flat=True)
    )
    live = set(Project.objects.filter(organization=acme).values_list("id", flat=True))
    assert named - live, "no event names a deleted project"
    assert named & live


def test_the_bulk_link_agrees_with_chain_for_awkward_text(acme):
    template = bulk.Template(
        acme.pk, action="project.updated", severity=10, project_id=None,
        project_name="Tab\there, new\nline, back\\slash, “quotes” ✓", actor_type="user",
        actor_id=None, actor_label='a"b@example.test', target_type="", target_id="",
        target_label="\\N", changes={"name": ["a\tb", "ü"]}, metadata={"n": [1, None]},
        ip=None, user_agent="",
    )
    bulk.write(acme.pk, [bulk.Draw.at(template, timezone.now(), "r-1")] * 3)
    events = list(AuditEvent.objects.filter(organization=acme).order_by("sequence"))
    assert events[0].project_name == template.fields["project_name"]
    assert events[0].target_label == "\\N"
    assert events[0].changes == {"name": ["a\tb", "ü"]}
    assert_chain_links(acme)


def test_an_unknown_organization_is_refused(db):
    with pytest.raises(CommandError, match="No organization"):
        call_command("generate_audit_events", org="nope", count=1, stdout=StringIO())


def test_a_real_organization_gets_no_synthetic_events(acme):
    """Issue 12, item 4: made-up people and events would stay in its signed chain for ever."""
    with pytest.raises(CommandError, match="not marked for synthetic data") as refused:
        call_command("generate_audit_events", org="acme", count=5, stdout=StringIO(),
                     stderr=StringIO())
    assert refused.value.returncode == 1
    assert not AuditEvent.objects.filter(organization=acme).exists()
    assert not Project.objects.filter(organization=acme, name__startswith="Synthetic")


def test_a_benchmark_database_may_hold_synthetic_events(initech, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "NAME", "bench_scale")
    call_command("generate_audit_events", org="initech", count=4, stdout=StringIO(),
                 stderr=StringIO())
    assert AuditEvent.objects.filter(organization=initech).count() == 4


@pytest.mark.parametrize("option", ["count", "days", "projects", "actors", "batch_size"])
def test_sizes_below_one_are_refused_and_nothing_is_written(acme, option):
    with pytest.raises(CommandError, match="must be positive"):
        generate(acme, **{"count": 10, option: 0})
    assert not AuditEvent.objects.filter(organization=acme).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_on_postgresql_it_writes_by_copy_and_compares_with_raw_copy(acme):
    output = generate(acme, 800, batch_size=400, compare_raw_copy=True)
    assert "COPY" in output and "Raw COPY of the same rows" in output
    # The raw COPY comparison is rolled back: only the generated events remain.
    assert AuditEvent.objects.filter(organization=acme).count() == 800
    assert_chain_links(acme)

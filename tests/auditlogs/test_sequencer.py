"""Record without waiting: record() inserts the event unlinked, in the caller's transaction and
without any lock; the sequencer links committed events onto the chain in batches after commit
(auditlogs/recording/sequencer.py), and the triggers allow each event exactly one link."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from auditlogs import record
from auditlogs.integrity.verification import Kind, verify
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain, recorder, sequencer
from auditlogs.recording.sequencer import LinkConflict, link_pending
from auditlogs.storage.backends import backend, is_postgresql
from auditlogs.storage.tables import EVENT_TABLE
from tests.helpers.clients import signed_in


@pytest.fixture
def no_linker(monkeypatch):
    """record() without its after-commit linker, as when the process died right after its
    commit: the events stay unlinked until a linker or the sweep comes."""
    monkeypatch.setattr(sequencer, "link_after_this_commit", lambda organization_id, event_id: None)


def chain_of(organization) -> list[tuple]:
    events = AuditEvent.objects.filter(organization=organization).order_by(
        F("sequence").asc(nulls_last=True), "id"
    )
    return list(events.values_list("sequence", "prev_hash", "hash", "metadata"))


def assert_one_gapless_chain(organization, count: int) -> None:
    rows = chain_of(organization)
    assert [row[0] for row in rows] == list(range(1, count + 1))
    prev = chain.GENESIS_HASH
    for _, row_prev, row_hash, _ in rows:
        assert row_prev == prev
        prev = row_hash
    head = ChainHead.objects.get(organization=organization)
    assert (head.sequence, head.hash) == (count, prev)
    report = verify(organization)
    assert report.ok, report.problem
    assert report.checked == count


def test_record_is_one_insert_and_takes_no_lock(acme, alpha):
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            event = record("project.updated", organization=acme, project=alpha,
                           changes={"name": ["A", "B"]})
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
        assert "FOR UPDATE" not in queries.captured_queries[0]["sql"]
        assert event.sequence is None and event.hash is None
        assert AuditEvent.objects.get(pk=event.pk).sequence is None  # not linked before commit
    linked = AuditEvent.objects.get(pk=event.pk)
    assert (linked.sequence, linked.prev_hash) == (1, chain.GENESIS_HASH)
    assert_one_gapless_chain(acme, 1)


def test_the_event_exists_only_if_the_change_commits(acme):
    with pytest.raises(RuntimeError), transaction.atomic():
        record("organization.updated", organization=acme)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.filter(organization=acme).exists()
    assert not ChainHead.objects.filter(organization=acme, sequence__gt=0).exists()


def test_one_after_commit_linker_per_organization_and_transaction(acme, initech):
    with transaction.atomic():
        first_at_acme = [record("organization.updated", organization=acme) for _ in range(3)][0]
        at_initech = record("organization.updated", organization=initech)
        hooks = [func for _, func, _ in connection.run_on_commit]
        # Each linker reads the queue from its transaction's first (lowest) event there.
        assert [hook.args for hook in hooks] == [(acme.pk, first_at_acme.pk),
                                                 (initech.pk, at_initech.pk)]
    assert_one_gapless_chain(acme, 3)
    assert_one_gapless_chain(initech, 1)


def test_events_left_unlinked_are_listed_at_once_and_linked_by_the_next_linker(
    acme, owner, no_linker
):
    first = record("organization.updated", organization=acme)
    client = signed_in(owner)
    page = client.get(reverse("audit_log", args=["acme"]))
    assert page.status_code == 200
    info = client.get(reverse("audit_event", args=["acme", first.pk]))
    assert "Awaiting the chain" in info.text and "in the organization&#x27;s chain" not in info.text
    second = record("organization.updated", organization=acme)
    assert AuditEvent.objects.filter(organization=acme, sequence__isnull=True).count() >= 2
    assert link_pending(acme.pk).linked >= 2
    assert [row[0] for row in chain_of(acme)][-2:] != [None, None]
    assert AuditEvent.objects.get(pk=first.pk).sequence < AuditEvent.objects.get(
        pk=second.pk).sequence  # committed first, linked first
    info = client.get(reverse("audit_event", args=["acme", first.pk]))
    assert "Awaiting the chain" not in info.text
    assert_one_gapless_chain(acme, AuditEvent.objects.filter(organization=acme).count())


def test_readers_of_the_chain_see_linked_events_only(acme, owner, no_linker, settings):
    record("organization.updated", organization=acme)
    link_pending(acme.pk)
    record("project.created", organization=acme)  # left unlinked
    assert verify(acme).ok
    export = signed_in(owner).get(reverse("audit_log_export", args=["acme", "ndjson"]))
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert '"organization.updated"' in "".join(lines)
    assert '"project.created"' not in "".join(lines)


def test_the_sweep_links_every_organization_oldest_first(acme, initech, no_linker):
    for organization in (initech, acme, initech):
        record("organization.updated", organization=organization)
    result = sequencer.sweep()
    assert result["linked"] == 3 and result["busy_organizations"] == []
    assert result["longest_delay_seconds"] is not None
    assert_one_gapless_chain(acme, 1)
    assert_one_gapless_chain(initech, 2)
    assert sequencer.oldest_unlinked_age() is None


def test_a_linker_reads_past_what_is_linked_and_the_sweep_reads_the_whole_queue(
    acme, no_linker
):
    """After-commit linkers read the queue from the head's scan_from (or their own first
    event, if lower), never the entries of events linked already; a straggler below it (here
    made by moving scan_from past it, as a link that read past its uncommitted id would) is
    linked by its own linker or by the sweep, which reads everything."""
    events = [record("project.viewed", organization=acme, metadata={"n": n}) for n in range(3)]
    assert link_pending(acme.pk, since=events[0].pk).linked == 3
    assert ChainHead.objects.get(organization=acme).scan_from == events[-1].pk + 1
    straggler, later = (record("project.viewed", organization=acme) for _ in range(2))
    ChainHead.objects.filter(organization=acme).update(scan_from=later.pk)
    assert link_pending(acme.pk, since=later.pk).linked == 1  # reads from scan_from
    assert AuditEvent.objects.get(pk=straggler.pk).sequence is None
    assert link_pending(acme.pk, since=straggler.pk).linked == 1  # its own linker
    last = record("project.viewed", organization=acme)
    ChainHead.objects.filter(organization=acme).update(scan_from=last.pk + 1)
    assert sequencer.sweep()["linked"] == 1
    assert_one_gapless_chain(acme, 6)
    assert verify(acme).ok


def test_batches_follow_each_other_and_the_bulk_path_links_what_is_pending_first(
    acme, no_linker
):
    for n in range(7):
        record("project.viewed", organization=acme, metadata={"n": n})
    assert link_pending(acme.pk, batch_size=3).linked == 7
    record("project.viewed", organization=acme, metadata={"n": 7})
    event = recorder.build_event("project.viewed", organization=acme, metadata={"n": 8})
    recorder.append(acme.pk, [event])
    assert [row[3]["n"] for row in chain_of(acme)] == list(range(9))
    assert_one_gapless_chain(acme, 9)


def test_a_linker_that_dies_mid_batch_loses_nothing_and_links_nothing_twice(
    acme, no_linker, monkeypatch
):
    for n in range(10):
        record("project.viewed", organization=acme, metadata={"n": n})
    database = backend()
    write = type(database).link_events
    calls = []

    def write_then_die(self, conn, organization_id, links, *head):
        calls.append(len(links))
        written = write(self, conn, organization_id, links, *head)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed in the middle of its second batch")
        return written

    monkeypatch.setattr(type(database), "link_events", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        link_pending(acme.pk, batch_size=4)
    monkeypatch.setattr(type(database), "link_events", write)
    # The first batch committed; the second rolled back with the head it would have moved.
    assert [row[0] for row in chain_of(acme)].count(None) == 6
    assert ChainHead.objects.get(organization=acme).sequence == 4
    assert link_pending(acme.pk).linked == 6
    assert [row[3]["n"] for row in chain_of(acme)] == list(range(10))
    assert_one_gapless_chain(acme, 10)


def test_a_linker_that_lost_a_race_links_nothing(acme, no_linker, monkeypatch):
    """Where no row lock keeps a second linker out (SQLite, or a lock bypassed), its batch
    meets the optimistic guards: rows linked meanwhile, or a head moved meanwhile."""
    record("project.viewed", organization=acme, metadata={"n": 0})
    database = type(backend())
    read = database.unlinked_events
    seen = read(backend(), AuditEvent.objects, acme.pk, 10, sequencer.READ_COLUMNS)
    stale = ChainHead(organization_id=acme.pk, sequence=0, hash=chain.GENESIS_HASH)
    link_pending(acme.pk)  # the other linker wins: #1
    record("project.viewed", organization=acme, metadata={"n": 1})

    # Its rows were linked meanwhile: the UPDATE finds them linked and the batch rolls back.
    monkeypatch.setattr(database, "unlinked_events", lambda *args, **kwargs: seen)
    with pytest.raises(LinkConflict, match="linked by another linker"):
        link_pending(acme.pk)
    monkeypatch.setattr(database, "unlinked_events", read)
    # Its head was moved meanwhile: its links of new rows roll back with the refused move.
    monkeypatch.setattr(sequencer, "locked_head", lambda organization_id, wait=True: stale)
    with pytest.raises(LinkConflict, match="moved"):
        link_pending(acme.pk)
    monkeypatch.undo()
    assert [row[0] for row in chain_of(acme)] == [1, None]
    link_pending(acme.pk)
    assert [row[3]["n"] for row in chain_of(acme)] == [0, 1]
    assert_one_gapless_chain(acme, 2)


def test_the_volume_chart_counts_an_event_once_it_is_linked(acme, no_linker):
    from django.db.models import Sum

    from auditlogs.models import EventRollup, RollupGrouping
    from auditlogs.storage import rollups

    def counted() -> int:
        rows = EventRollup.objects.filter(organization=acme, grouping=RollupGrouping.SEVERITY)
        return rows.aggregate(total=Sum("count"))["total"] or 0

    record("project.viewed", organization=acme)
    link_pending(acme.pk)
    record("project.viewed", organization=acme)  # waiting
    assert rollups.roll_up_due() == 1 and counted() == 1
    link_pending(acme.pk)
    assert rollups.roll_up_due() == 1 and counted() == 2
    assert rollups.roll_up_due() == 0 and counted() == 2


# The triggers: one link per event, nothing else.


def _update(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{EVENT_TABLE}" SET {sql}', params)


def test_the_triggers_allow_exactly_one_link(acme, no_linker):
    event = record("project.viewed", organization=acme)
    where = "WHERE id = %s"
    with pytest.raises(IntegrityError, match="append-only"):  # content of an unlinked event
        _update(f"action = 'project.deleted' {where}", [event.pk])
    with pytest.raises(IntegrityError, match="append-only"):  # a link that changes content
        _update(f"sequence = 1, prev_hash = %s, hash = %s, actor_label = 'x' {where}",
                [chain.GENESIS_HASH, "a" * 64, event.pk])
    with pytest.raises(IntegrityError, match="append-only"):  # half a link
        _update(f"sequence = 1 {where}", [event.pk])
    _update(f"sequence = 1, prev_hash = %s, hash = %s {where}",
            [chain.GENESIS_HASH, "a" * 64, event.pk])  # the link itself passes
    with pytest.raises(IntegrityError, match="append-only"):  # a second link
        _update(f"sequence = 2, prev_hash = %s, hash = %s {where}",
                [chain.GENESIS_HASH, "b" * 64, event.pk])
    with pytest.raises(IntegrityError, match="append-only"):  # an unlink
        _update(f"sequence = NULL, prev_hash = NULL, hash = NULL {where}", [event.pk])
    with (pytest.raises(IntegrityError, match="append-only"), transaction.atomic(),
          connection.cursor() as cursor):
        cursor.execute(f'DELETE FROM "{EVENT_TABLE}" WHERE id = %s', [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).hash == "a" * 64


LINK = f"sequence = 1, prev_hash = '{chain.GENESIS_HASH}', hash = '{'a' * 64}'"


@pytest.mark.parametrize("other_change", [
    "organization_id = organization_id + 1000000",
    "action = 'project.deleted'",
    "severity = severity + 1",
    "project_name = 'Renamed'",
    "actor_id = 999",
    "target_label = 'Other'",
    "user_agent = user_agent || ' '",
    "request_id = 'forged'",
    # The same JSON value, written differently: 1.0 where 1 was (jsonb keeps the difference).
    "metadata = %s",
])
def test_a_link_that_changes_anything_else_is_refused(acme, no_linker, other_change):
    event = record("project.viewed", organization=acme, metadata={"n": 1})
    params = []
    if "%s" in other_change:
        params = ['{"n": 1.0}'] if is_postgresql() else ['{"n":1.0}']
    with pytest.raises(IntegrityError, match="append-only"):
        _update(f"{LINK}, {other_change} WHERE id = %s", [*params, event.pk])
    assert AuditEvent.objects.get(pk=event.pk).sequence is None
    _update(f"{LINK} WHERE id = %s", [event.pk])  # the link alone passes
    assert AuditEvent.objects.get(pk=event.pk).sequence == 1


def test_a_link_forged_through_the_allowed_update_is_reported(acme, no_linker):
    record("project.viewed", organization=acme)
    link_pending(acme.pk)
    forged = record("project.deleted", organization=acme)
    # Whoever can UPDATE the table can link an event, but not with a hash that verifies
    # without also rewriting the content (refused) or the chain after it (signed).
    _update("sequence = 2, prev_hash = %s, hash = %s WHERE id = %s",
            [ChainHead.objects.get(organization=acme).hash, "f" * 64, forged.pk])
    report = verify(acme)
    assert not report.ok
    assert (report.problem.kind, report.problem.sequence) == (Kind.MODIFIED, 2)


# Operations: the sweep job, /readyz and /metrics.


def test_the_worker_job_links_what_after_commit_linkers_left(acme, no_linker):
    from operations import jobs

    record("project.viewed", organization=acme)
    result = jobs.link_audit_events(seconds=0)
    assert result["linked"] == 1 and result["sweeps"] == 1
    assert_one_gapless_chain(acme, 1)


def test_readyz_reports_events_waiting_too_long_to_be_linked(acme, no_linker, settings):
    from datetime import timedelta

    from django.utils import timezone

    from auditlogs.recording.recorder import build_event

    client = signed_in(None)
    assert client.get("/readyz").json()["checks"]["linking"]["ok"] is True
    event = build_event("project.viewed", organization=acme,
                        occurred_at=timezone.now() - timedelta(minutes=5))
    event.save(force_insert=True)
    settings.AUDITLOG_LINK_DELAY_ALERT_SECONDS = 60
    response = client.get("/readyz")
    check = response.json()["checks"]["linking"]
    assert response.status_code == 503 and check["ok"] is False
    assert check["oldest_unlinked_event_age_seconds"] >= 300 and check["limit_seconds"] == 60
    settings.METRICS_BEARER_TOKEN = "t"
    metrics = client.get("/metrics", headers={"Authorization": "Bearer t"}).text
    line = next(x for x in metrics.splitlines()
                if x.startswith("auditlogs_oldest_unlinked_event_age_seconds "))
    assert float(line.split()[1]) >= 300
    link_pending(acme.pk)
    assert client.get("/readyz").json()["checks"]["linking"]["ok"] is True


@pytest.mark.skipif(not is_postgresql(), reason="prepared statements are PostgreSQL's")
def test_recording_and_linking_plan_their_statements_once_per_connection(acme, alpha, no_linker):
    """Planning costs the partitioned event table more than running these statements, so
    record()'s INSERT and the sequencer's reads and writes are prepared on the connection,
    while every other query of the app still binds on the client, unprepared."""
    for n in range(3):
        with transaction.atomic():
            record("project.updated", organization=acme, project=alpha, metadata={"n": n})
    assert link_pending(acme.pk).linked == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any(s.startswith(f'INSERT INTO "{EVENT_TABLE}"') for s in prepared), prepared
    assert any(f'UPDATE "{EVENT_TABLE}"' in s for s in prepared), prepared
    assert any("sequence IS NULL" in s and s.startswith("SELECT") for s in prepared), prepared
    assert not any("orgs_organization" in s for s in prepared), prepared
    assert_one_gapless_chain(acme, 3)

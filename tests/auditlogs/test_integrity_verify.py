"""The verifier finds every kind of tampering, made for real, and names the first broken event
and the kind; an untouched log verifies clean."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlogs import record
from auditlogs.integrity import signing
from auditlogs.integrity.checkpointing import IntegrityBroken, checkpoint
from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.integrity.guards import granted_deletion
from auditlogs.integrity.verification import FAILURE_ACTION, Kind, integrity_status, verify
from auditlogs.models import AuditEvent, Checkpoint
from auditlogs.recording import chain, event_form
from auditlogs.recording.context import Actor, acting_as
from auditlogs.storage import partitions
from auditlogs.storage.backends import backend
from orgs.models import Organization
from tests.helpers.integrity import (
    EVENTS,
    fill,
    insert_forged,
    is_postgresql,
    json_value,
    rehash_from,
    set_sequence,
    swap,
    tamper,
)

pytestmark = pytest.mark.usefixtures("verifier")  # both ways of walking the chain


def flush_everything() -> None:
    """The project's `flush` (allowed in a test run), inside this test's transaction."""
    with connection.cursor() as cursor:
        if is_postgresql():  # TRUNCATE refuses while deferred checks are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)


def delete_through_the_grant(organization, through: int) -> None:
    with (
        transaction.atomic(),
        granted_deletion(connection, organization.pk, through),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence <= %s",
            [organization.pk, through],
        )


def problem_of(organization):
    report = verify(organization)
    assert not report.ok, "the tampering went unnoticed"
    return report.problem


def test_an_untouched_log_verifies_clean(acme, initech, globex):
    fill(acme, 12)
    checkpoint(acme)
    fill(acme, 5)
    checkpoint(acme)
    fill(initech, 3)
    report = verify(acme)
    assert report.ok and report.problem is None
    assert (report.first_sequence, report.last_sequence, report.checked) == (1, 17, 17)
    assert report.checkpoints_matched == 2
    assert report.head_hash == AuditEvent.objects.get(organization=acme, sequence=17).hash
    assert verify(initech).ok and verify(globex).ok


def test_a_changed_severity_is_a_modified_event(acme):
    fill(acme, 10)
    tamper(f"UPDATE {EVENTS} SET severity = 10 WHERE organization_id = %s AND sequence = 3",
           [acme.pk])
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.MODIFIED, 3)


@pytest.mark.parametrize("label", ["text\x7fseparator", "\x7f", "its neighbours \x1e\x7e"])
def test_texts_the_fast_pass_cannot_split_verify_and_are_still_checked(acme, label):
    # The fast pass joins an event's texts with DEL and splits them after escaping them; a
    # text holding the separator is left to the exact pass (the same verdict).
    fill(acme, 3)
    record("project.viewed", organization=acme, actor=Actor("user", 1, label))
    fill(acme, 3)
    report = verify(acme)
    assert report.ok and report.checked == 7, report.problem
    tamper(f"UPDATE {EVENTS} SET actor_label = %s WHERE organization_id = %s AND sequence = 4",
           [label + "!", acme.pk])
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.MODIFIED, 4)


def test_the_fast_form_refuses_texts_it_cannot_split():
    values = event_form.rendered({**chain._PROBE, "actor_label": "a\x7fb"})
    with pytest.raises(chain.Unrendered):
        chain.canonical_rendered(7, values)
    # A missing text: "a\x7fb" and None would otherwise read as "a" and "b".
    moved = {**chain._PROBE, "actor_type": "a\x7fb", "actor_label": None}
    values = event_form.rendered(moved)
    with pytest.raises(chain.Unrendered):
        chain.canonical_rendered(7, values)


def test_a_changed_metadata_value_is_a_modified_event(acme):
    fill(acme, 10)
    tamper(
        f"UPDATE {EVENTS} SET metadata = {json_value()} "
        "WHERE organization_id = %s AND sequence = 7",
        [json.dumps({"n": 6, "note": "nothing to see"}), acme.pk],
    )
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.MODIFIED, 7)


def test_a_deleted_middle_event_is_a_gap(acme):
    fill(acme, 10)
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence = 5", [acme.pk])
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.MISSING, 5)
    assert "#4 to #6" in problem.detail


def test_deleted_newest_events_are_a_cut_tail(acme):
    fill(acme, 10)
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence >= 8", [acme.pk])
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.CUT_TAIL, 8)


def test_a_cut_tail_with_a_rewound_chain_head_is_caught_by_the_checkpoint(acme):
    fill(acme, 10)
    checkpoint(acme)
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence >= 8", [acme.pk])
    rehash_from(acme, 8)  # moves the chain head back to #7
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.CUT_TAIL, 8)
    assert "checkpoint" in problem.detail and "#10" in problem.detail


def test_a_forged_event_with_a_recomputed_chain_is_caught_by_the_checkpoints(acme):
    fill(acme, 3)
    checkpoint(acme)
    fill(acme, 7)
    checkpoint(acme)
    insert_forged(acme, at=6)
    assert verify(acme, incremental=True).ok is False
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.FORGED, 6)
    assert "checkpoint signed for #10" in problem.detail


def test_a_replaced_and_rehashed_event_is_named(acme):
    fill(acme, 10)
    tamper(f"UPDATE {EVENTS} SET actor_label = 'someone@else.test' "
           "WHERE organization_id = %s AND sequence = 4", [acme.pk])
    event = AuditEvent.objects.get(organization=acme, sequence=4)
    tamper(f"UPDATE {EVENTS} SET hash = %s WHERE id = %s",
           [chain.link_hash(event.prev_hash, acme.pk, event.__dict__), event.pk])
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.FORGED, 4)


def test_an_inserted_event_without_recomputing_is_named(acme):
    fill(acme, 8)
    for sequence in range(8, 4, -1):
        set_sequence(acme, sequence, sequence + 1)
    before = AuditEvent.objects.get(organization=acme, sequence=4)
    forged = AuditEvent(
        organization_id=acme.pk, sequence=5, occurred_at=before.occurred_at,
        action="project.viewed", severity=10, actor_type="user", prev_hash=before.hash, hash="",
    )
    forged.hash = chain.link_hash(before.hash, acme.pk, forged.__dict__)
    forged.save()
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.FORGED, 5)


def test_two_events_claiming_one_sequence_are_taken_in_id_order_however_they_are_read(
    acme, monkeypatch
):
    fill(acme, 8)
    before, original = AuditEvent.objects.filter(organization=acme, sequence__in=(4, 5)).order_by(
        "sequence"
    )
    forged = AuditEvent(
        organization_id=acme.pk, sequence=5, occurred_at=original.occurred_at,
        action="project.viewed", severity=10, actor_type="user", prev_hash=before.hash, hash="",
    )
    forged.hash = chain.link_hash(before.hash, acme.pk, forged.__dict__)
    forged.save()
    # Read by sequence alone (the fast pass), the database may hand the pair over either way;
    # here the forged one (the later id, which also links and hashes right) comes first.
    kind = type(backend())
    honest = kind.rendered_chain_window

    def later_id_first(self, events, organization_id, low, high):
        rows = honest(self, events, organization_id, low, high)
        return sorted(rows, key=lambda row: (row[1], -row[0]))

    monkeypatch.setattr(kind, "rendered_chain_window", later_id_first)
    report = verify(acme)
    assert (report.problem.kind, report.problem.sequence) == (Kind.FORGED, 5)
    assert "a second event claims #5" in report.problem.detail
    assert (report.last_sequence, report.head_hash) == (5, original.hash)  # in (sequence, id)


@pytest.mark.parametrize("first, second", [(4, 5), (3, 8)])
def test_swapped_events_are_a_reordered_pair(acme, first, second):
    fill(acme, 10)
    swap(acme, first, second)
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.REORDERED, first)
    assert f"#{first} and #{second}" in problem.detail


def test_deleted_oldest_events_without_retention_are_missing(acme):
    fill(acme, 6)
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence <= 2", [acme.pk])
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.MISSING, 1)


def test_flush_erasing_every_log_is_named_from_the_witness_file(acme, initech, tmp_path, settings,
                                                                 capsys):
    """Issue 12, item 1: `flush` (the project's override opens a whole-table deletion grant)
    empties events, checkpoints, chain heads and the organizations themselves; only the
    witness file still knows them."""
    settings.AUDITLOG_CHECKPOINT_WITNESS_FILE = str(tmp_path / "witness.jsonl")
    fill(acme, 4)
    fill(initech, 2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda fn, **kw: fn())
        call_command("checkpoint_audit_log", "--no-progress")
    capsys.readouterr()
    flush_everything()
    assert not AuditEvent.objects.exists() and not Organization.objects.exists()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log", "--no-progress")
    assert failure.value.returncode == 1 and "acme, initech" in str(failure.value)
    err = capsys.readouterr().err
    assert f"acme: BROKEN: erased log at event #1: organization {acme.pk} (acme)" in err
    assert "checkpoint signed at" in err and "for its event #4" in err
    assert "initech: BROKEN: erased log" in err and "#2" in err


def test_a_dropped_month_is_an_unattested_cut(acme):
    """Issue 12, item 2: dropping a month partition removes every organization's events of
    that month at once, without row triggers; a plain checkpoint at the month's end no
    longer vouches for the new start."""
    old = timezone.now() - timedelta(days=62)
    partitions.ensure_partitions(old, old)
    with acting_as(Actor.system(), at=old):
        fill(acme, 3)
    checkpoint(acme)  # a plain checkpoint at #3, the month's last event
    fill(acme, 3)
    checkpoint(acme)
    if is_postgresql():
        partitions.drop_partitions_before(partitions.add_months(partitions.month_start(old), 1))
    else:  # one plain table: the month's rows, deleted around the triggers
        tamper(f"DELETE FROM {EVENTS} WHERE occurred_at < %s",
               [partitions.add_months(partitions.month_start(old), 1)])
    assert AuditEvent.objects.filter(organization=acme).count() == 3
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.UNATTESTED_CUT, 1)
    assert "events #1–#3 are gone" in problem.detail and "no signed retention cut" in problem.detail


def test_oldest_events_deleted_through_the_grant_are_an_unattested_cut(acme):
    """Issue 12, item 3: the deletion grant opens the triggers for an organization's oldest
    events; deleting them up to a plain checkpoint (no retention period, no retention event)
    is not a retention cut."""
    fill(acme, 4)
    checkpoint(acme)
    fill(acme, 3)
    delete_through_the_grant(acme, 4)
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.UNATTESTED_CUT, 1)
    assert "plain checkpoint" in problem.detail


def test_a_forged_checkpoint_is_reported(acme):
    fill(acme, 4)
    genuine, _ = checkpoint(acme)
    Checkpoint.objects.create(
        organization=acme, sequence=2, head_hash=genuine.head_hash,
        signed_at=genuine.signed_at, key_id=genuine.key_id, signature=genuine.signature,
    )
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.BAD_CHECKPOINT, 2)


def test_checkpoints_are_signed_with_the_configured_key(acme):
    fill(acme, 5)
    signed, is_new = checkpoint(acme)
    assert is_new and signed.sequence == 5
    statement = SignedStatement.of(signed).statement()
    assert statement == {
        "type": "auditlogs.checkpoint", "version": 1, "organization": acme.pk,
        "sequence": 5, "head_hash": signed.head_hash,
        "signed_at": chain.format_time(signed.signed_at),
    }
    public_key = signing.signing_key().public_key()
    assert signed.key_id == signing.key_id(public_key)
    message = chain.canonical_json(statement).encode()
    assert signing.signature_is_valid(public_key, message, signed.signature)
    assert not signing.signature_is_valid(public_key, message.replace(b'"sequence":5',
                                                                       b'"sequence":6'),
                                          signed.signature)
    assert checkpoint(acme) == (signed, False)


def test_no_checkpoint_is_signed_over_a_broken_chain(acme):
    fill(acme, 5)
    checkpoint(acme)
    fill(acme, 3)
    tamper(f"UPDATE {EVENTS} SET severity = 30 WHERE organization_id = %s AND sequence = 7",
           [acme.pk])
    with pytest.raises(IntegrityBroken, match="modified event at event #7"):
        checkpoint(acme)
    assert list(Checkpoint.objects.values_list("sequence", flat=True)) == [5]


def test_the_verify_command_exits_non_zero_naming_the_event(acme, capsys):
    fill(acme, 6)
    call_command("verify_audit_log", "--org", "acme", "--no-progress")
    assert "acme: OK, 6 events verified through #6" in capsys.readouterr().out
    tamper(f"UPDATE {EVENTS} SET severity = 30 WHERE organization_id = %s AND sequence = 2",
           [acme.pk])
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log", "--org", "acme", "--no-progress")
    assert failure.value.returncode == 1
    assert "acme: BROKEN: modified event at event #2" in capsys.readouterr().err
    recorded = AuditEvent.objects.get(organization=acme, action=FAILURE_ACTION)
    assert recorded.metadata["kind"] == "modified event" and recorded.metadata["sequence"] == 2
    with pytest.raises(CommandError):
        call_command("verify_audit_log", "--org", "acme", "--no-progress")
    assert AuditEvent.objects.filter(action=FAILURE_ACTION).count() == 1  # recorded once


def test_after_a_failure_checkpoints_wait_for_a_clean_full_verification(acme, capsys):
    fill(acme, 5)
    checkpoint(acme)
    tamper(f"UPDATE {EVENTS} SET severity = 30 WHERE organization_id = %s AND sequence = 2",
           [acme.pk])
    with pytest.raises(CommandError):
        call_command("verify_audit_log", "--no-progress")
    with pytest.raises(CommandError):
        call_command("checkpoint_audit_log", "--org", "acme", "--no-progress")
    assert "not signed, BROKEN: modified event at event #2" in capsys.readouterr().err
    assert integrity_status(acme).state == "broken"


def test_the_checkpoint_command(acme, capsys):
    fill(acme, 3)
    call_command("checkpoint_audit_log", "--no-progress")
    out = capsys.readouterr().out
    assert "acme: checkpoint #3 signed" in out and "globex: no events yet" in out
    call_command("checkpoint_audit_log", "--org", "acme", "--no-progress")
    assert "acme: already checkpointed at #3" in capsys.readouterr().out
    call_command("checkpoint_audit_log", "--public-key")
    key = signing.signing_key().public_key()
    assert capsys.readouterr().out.strip() == (
        f"{signing.encode_public_key(key)} key-id {signing.key_id(key)}"
    )


def test_the_witness_file_keeps_checkpoints_the_database_lost(acme, tmp_path, settings):
    settings.AUDITLOG_CHECKPOINT_WITNESS_FILE = str(tmp_path / "witness.jsonl")
    fill(acme, 6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda fn, **kw: fn())
        checkpoint(acme)
    assert (tmp_path / "witness.jsonl").read_text().count('"sequence": 6') == 1
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence >= 5", [acme.pk])
    tamper("DELETE FROM auditlogs_checkpoint WHERE organization_id = %s", [acme.pk])
    rehash_from(acme, 5)
    problem = problem_of(acme)
    assert (problem.kind, problem.sequence) == (Kind.CUT_TAIL, 5)


times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    sequence=st.integers(1, 2**62), occurred_at=times, text=st.text(), number=st.none()
    | st.integers(1, 2**62), metadata=st.dictionaries(st.text(), json_values, max_size=4),
    ip=st.none() | st.sampled_from(["203.0.113.9", "2001:db8::1"]),
)
def test_the_fast_canonical_form_is_the_documented_one(
    sequence, occurred_at, text, number, metadata, ip
):
    fields = {
        "sequence": sequence, "occurred_at": occurred_at, "action": text, "severity": 20,
        "project_id": number, "project_name": text, "actor_type": "user", "actor_id": number,
        "actor_label": text, "target_type": text, "target_id": text, "target_label": text,
        "changes": {text: [text, None]} if text else {}, "metadata": metadata, "ip": ip,
        "user_agent": text, "request_id": text,
    }
    values = [fields[name] for name in chain.HASHED_FIELDS]
    reference = chain.canonical_json(chain.payload(7, fields))
    assert chain.canonical_event(7, values) == reference
    as_postgresql_returns_them = {  # the verifier's fast path on PostgreSQL
        **fields, "occurred_at": chain.format_time(occurred_at),
        "changes": json.dumps(fields["changes"]), "metadata": json.dumps(metadata, indent=1),
    }
    values = [as_postgresql_returns_them[name] for name in chain.HASHED_FIELDS]
    assert chain.canonical_event(7, values) == reference
    try:  # the verifier's fast pass, from the event rendered
        assert chain.canonical_rendered(7, event_form.rendered(as_postgresql_returns_them)) == (
            reference
        )
    except chain.Unrendered:  # only a text holding the separator is left
        assert event_form.TEXT_SEPARATOR in text


def test_recorded_events_hash_to_the_documented_canonical_form(acme, alpha):
    event = record("project.deleted", organization=acme, project=alpha,
                   metadata={"b": 1, "a": "é"})
    event.refresh_from_db()  # linked after commit
    body = chain.canonical_json(chain.payload(acme.pk, event.__dict__))
    assert '"metadata":{"a":"é","b":1}' in body
    assert event.hash == chain.hash_body(chain.GENESIS_HASH, body)

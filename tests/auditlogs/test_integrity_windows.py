"""A long chain is verified in windows walked in parallel and joined; whatever was tampered with,
and wherever (inside a window, at a join, in the last window), the report is the one the
verifier makes walking the chain one batch after the other, naming the same event first."""

from dataclasses import asdict

import pytest
from django.core.management import call_command
from django.db import connection

from auditlogs.integrity import windows
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.integrity.verification import verify
from auditlogs.models import AuditEvent
from auditlogs.recording import chain
from tests.auditlogs.conftest import verify_in_windows
from tests.helpers.integrity import EVENTS, fill, insert_forged, swap, tamper

WINDOW = 4  # windows #1–#4, #5–#8, #9–#12, #13–#16, #17–#18


def eighteen_events_with_checkpoints(organization) -> None:
    fill(organization, 3)
    checkpoint(organization)  # #3, inside the first window
    fill(organization, 10)
    checkpoint(organization)  # #13, the first event of the fourth window
    fill(organization, 5)
    checkpoint(organization)  # #18, the last


def modify(organization, n):
    tamper(f"UPDATE {EVENTS} SET target_label = 'changed' "
           "WHERE organization_id = %s AND sequence = %s", [organization.pk, n])


def delete(organization, n):
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence = %s",
           [organization.pk, n])


def cut_tail(organization, n):
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence >= %s",
           [organization.pk, n])


def swap_with_next(organization, n):
    swap(organization, n, n + 1)


def replace_and_rehash(organization, n):
    """The event's fields changed and its own hash recomputed (its successor still links to
    the old one)."""
    tamper(f"UPDATE {EVENTS} SET actor_label = 'someone@else.test' "
           "WHERE organization_id = %s AND sequence = %s", [organization.pk, n])
    event = AuditEvent.objects.get(organization=organization, sequence=n)
    tamper(f"UPDATE {EVENTS} SET hash = %s WHERE id = %s",
           [chain.link_hash(event.prev_hash, organization.pk, event.__dict__), event.pk])


def forge_and_recompute(organization, n):
    """A forged event inserted at #n and the whole chain after it recomputed: only the
    checkpoint after it (in a later window) tells."""
    insert_forged(organization, at=n)


TAMPERING = [modify, delete, cut_tail, swap_with_next, replace_and_rehash, forge_and_recompute]
PLACES = {"inside the second window": 6, "at a join": 5, "the last of a window": 4,
          "in the last window": 17}


def both_ways(organization, settings, *, window=WINDOW, workers=1):
    """The report walking one batch after the other, then in windows."""
    settings.AUDITLOG_VERIFY_PARALLEL_FROM = 10**9
    sequential = verify(organization)
    verify_in_windows(settings, window=window, workers=workers)
    return sequential, verify(organization)


def assert_same_report(sequential, windowed, window=WINDOW, end=18):
    assert sequential.windows == 0
    assert {**asdict(windowed), "windows": 0} == asdict(sequential)
    # Every window wholly before the first event that did not verify joined on; none after.
    highs = [min(low + window - 1, end) for low in range(1, end + 1, window)]
    assert windowed.windows == sum(1 for high in highs if high <= sequential.last_sequence)


def test_an_untouched_chain_verifies_the_same_in_windows(acme, settings, capsys):
    eighteen_events_with_checkpoints(acme)
    sequential, windowed = both_ways(acme, settings)
    assert windowed.ok and windowed.checkpoints_matched == 3 and windowed.checked == 18
    assert windowed.windows == 5
    assert_same_report(sequential, windowed)
    call_command("verify_audit_log", "--org", "acme", "--no-progress")
    assert "5 windows walked in parallel" in capsys.readouterr().out


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("tampering", TAMPERING, ids=lambda tampering: tampering.__name__)
def test_tampering_is_named_the_same_in_windows(acme, settings, tampering, place):
    eighteen_events_with_checkpoints(acme)
    tampering(acme, PLACES[place])
    sequential, windowed = both_ways(acme, settings)
    assert not sequential.ok
    assert_same_report(sequential, windowed, end=max(18, windowed.last_sequence))


def test_events_stored_out_of_insertion_order_are_named_the_same_in_windows(acme, settings):
    """The hint about an event stored out of order carries across a join."""
    eighteen_events_with_checkpoints(acme)
    forge_and_recompute(acme, 8)  # a new id at #8: its successor's is older
    sequential, windowed = both_ways(acme, settings)
    assert "event #8 was stored out of insertion order" in sequential.problem.detail
    assert_same_report(sequential, windowed, end=19)


def test_a_short_chain_is_walked_one_batch_after_the_other(acme, settings):
    fill(acme, 5)
    settings.AUDITLOG_VERIFY_PARALLEL_FROM = 6
    assert verify(acme).windows == 0
    settings.AUDITLOG_VERIFY_PARALLEL_FROM = 5
    assert verify(acme).windows == 1  # windows of 25,000 by default: #1–#5 in one


def test_inside_a_transaction_the_windows_are_walked_in_this_process(acme, settings):
    """Worker processes would read only what is committed, not what the caller's transaction
    (here the test's) sees."""
    fill(acme, 10)
    verify_in_windows(settings, window=4, workers=2)
    report = verify(acme)
    assert report.ok and report.windows == 3


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="worker processes read the database on PostgreSQL; SQLite walks windows in-process",
)


@postgresql_only
@pytest.mark.django_db(transaction=True)  # the workers read what was committed
@pytest.mark.parametrize("tampering, place", [
    (None, None), (modify, 11), (swap_with_next, 7), (delete, 22), (forge_and_recompute, 3),
], ids=["untouched", "at a join", "inside a window", "in the last window", "recomputed"])
def test_worker_processes_name_the_same_event(acme, settings, tampering, place):
    fill(acme, 12)
    checkpoint(acme)
    fill(acme, 11)
    if tampering is not None:
        tampering(acme, place)
    sequential, windowed = both_ways(acme, settings, window=5, workers=2)
    assert sequential.ok is (tampering is None)
    assert_same_report(sequential, windowed, window=5, end=max(23, windowed.last_sequence))



@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_verify_command_walks_every_organization_with_worker_processes(
    acme, initech, settings, capsys
):
    """The workers leave the command's own connection alone (it reads the organizations
    through a server-side cursor while verifying each)."""
    fill(acme, 12)
    fill(initech, 11)
    verify_in_windows(settings, window=5, workers=2)
    call_command("verify_audit_log", "--no-progress")
    out = capsys.readouterr().out
    assert "acme: OK, 12 events verified through #12" in out
    assert "initech: OK, 11 events verified through #11" in out
    assert out.count("windows walked in parallel") >= 2


class RecordingPool:
    """A process pool whose workers hand each window back as it is, noting what the verifier
    asks of it."""

    def __init__(self):
        self.handed_out, self.calls = [], []

    def apply_async(self, walk_one, args):
        (window,) = args
        self.handed_out.append(window)
        return type("Result", (), {"get": lambda self: window})()

    def close(self):
        self.calls.append("close")

    def join(self):
        self.calls.append("join")

    def terminate(self):  # a worker killed mid-result keeps the result queue's lock for ever
        self.calls.append("terminate")


def test_a_verifier_that_stops_early_hands_out_no_more_windows_and_kills_no_worker(
    monkeypatch
):
    pool = RecordingPool()
    context = type("Context", (), {"Pool": lambda self, *args, **kwargs: pool})()
    monkeypatch.setattr(windows, "_process_context", lambda: context)
    monkeypatch.setattr(windows, "workers", lambda: 2)
    with windows._walked_windows(iter(range(100))) as walked:
        assert next(walked) == 0  # the window the verifier waits for...
        assert pool.handed_out == list(range(5))  # ...and four handed out beyond it
        assert next(walked) == 1  # ...stopping here: a window did not join
    assert pool.handed_out == list(range(6))
    assert pool.calls == ["close", "join"]

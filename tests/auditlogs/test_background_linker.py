"""On PostgreSQL a process links what its requests recorded in a thread of its own, right after
their commits (AUDITLOG_LINK_IN_BACKGROUND): the request does not wait for the link."""

import threading
import time

import pytest
from django.db import connection, transaction

from auditlogs import record
from auditlogs.integrity.verification import verify
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain, sequencer
from auditlogs.storage.backends import is_postgresql
from tests.helpers.integrity import LockHolder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgresql(), reason="SQLite links in the committing thread"),
]


@pytest.fixture
def in_background(settings):
    settings.AUDITLOG_LINK_IN_BACKGROUND = True
    yield
    assert sequencer.background.stop(10)


@pytest.fixture
def linking_threads(monkeypatch):
    """The names of the threads that linked, in order."""
    names = []
    link_pending = sequencer.link_pending

    def watched(*args, **kwargs):
        names.append(threading.current_thread().name)
        return link_pending(*args, **kwargs)

    monkeypatch.setattr(sequencer, "link_pending", watched)
    return names


def test_the_committing_request_leaves_the_link_to_the_process_linker_thread(
    acme, in_background, linking_threads
):
    with transaction.atomic():
        event = record("organization.updated", organization=acme)
    assert sequencer.background.wait_idle(10)
    assert linking_threads and set(linking_threads) == {"audit-linker"}
    assert AuditEvent.objects.get(pk=event.pk).sequence is not None
    assert verify(acme).ok


def test_a_held_chain_lock_delays_neither_the_commit_nor_the_later_link(
    acme, in_background, linking_threads
):
    record("organization.updated", organization=acme)
    assert sequencer.background.wait_idle(10)
    with LockHolder(acme):
        started = time.monotonic()
        with transaction.atomic():
            waiting = record("organization.updated", organization=acme)
        assert time.monotonic() - started < 1  # the commit did not wait for the lock
        # The linker thread found the lock held and keeps the organization for another go.
        assert not sequencer.background.wait_idle(0.3)
        assert AuditEvent.objects.get(pk=waiting.pk).sequence is None
    assert sequencer.background.wait_idle(10)  # linked by its own retry, nothing else
    assert AuditEvent.objects.get(pk=waiting.pk).sequence == 2
    assert verify(acme).ok


def test_each_round_links_every_organization_submitted_meanwhile(acme, initech, in_background):
    for organization in (acme, initech, acme):
        record("organization.updated", organization=organization)
    assert sequencer.background.wait_idle(10)
    assert not AuditEvent.objects.filter(sequence__isnull=True).exists()
    assert verify(acme).ok and verify(initech).ok


def test_commits_while_the_thread_gathers_wake_it_not_and_wait_for_its_next_round(
    acme, in_background, monkeypatch
):
    """Waking the linker thread for every commit cost each request a switch of threads: a
    commit wakes it only when it waits for work, and one made while it links or gathers is
    linked in its next round."""
    monkeypatch.setattr(sequencer, "GATHER_SECONDS", 1.0)
    record("organization.updated", organization=acme)  # starts the thread: its first round
    assert sequencer.background.wait_idle(10)  # linked; now it gathers for a second
    wakes = []
    condition = sequencer.background._wake
    notify = condition.notify
    monkeypatch.setattr(condition, "notify", lambda n=1: (wakes.append(n), notify(n))[1])
    gathered = [record("project.viewed", organization=acme) for _ in range(20)]
    assert wakes == []
    assert sequencer.background.wait_idle(10)  # the next round, after the gathering
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in gathered], sequence=None).exists()

    deadline = time.monotonic() + 10
    while not sequencer.background._waiting_for_work and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sequencer.background._waiting_for_work
    waiting = record("organization.updated", organization=acme)
    assert wakes == [1]  # a thread waiting for work is woken at once
    assert sequencer.background.wait_idle(10)
    assert AuditEvent.objects.get(pk=waiting.pk).sequence == 22
    assert verify(acme).ok


def test_an_event_committed_after_a_later_one_was_linked_is_linked_by_its_own_linker(
    acme, in_background
):
    """A straggler: its id was drawn before, and committed after, a link that read past it.
    Later linkers start reading past the linked ones (ChainHead.scan_from), so its own
    after-commit linker reads from its id."""
    record("organization.updated", organization=acme)
    assert sequencer.background.wait_idle(10)
    drawn, commit, straggler = threading.Event(), threading.Event(), []

    def straggle():
        with transaction.atomic():
            straggler.append(record("project.created", organization=acme))
            drawn.set()
            commit.wait(10)
        connection.close()

    writer = threading.Thread(target=straggle)
    writer.start()
    assert drawn.wait(10)
    with transaction.atomic():
        later = record("organization.updated", organization=acme)
    assert sequencer.background.wait_idle(10)
    assert AuditEvent.objects.get(pk=later.pk).sequence is not None
    assert ChainHead.objects.get(organization=acme).scan_from > later.pk > straggler[0].pk
    commit.set()
    writer.join()
    assert sequencer.background.wait_idle(10)
    assert AuditEvent.objects.get(pk=straggler[0].pk).sequence == 3
    assert verify(acme).ok


def test_a_linker_that_would_not_wait_tells_a_held_head_from_a_missing_one(acme, initech):
    record("organization.updated", organization=acme)
    sequencer.link_pending(acme.pk)
    with LockHolder(acme):
        with transaction.atomic():
            assert sequencer.locked_head(acme.pk, wait=False) is None
        assert sequencer.link_pending(acme.pk, since=0).busy
    with transaction.atomic():
        assert sequencer.locked_head(acme.pk, wait=False).sequence == 1
    assert not ChainHead.objects.filter(organization=initech).exists()
    with transaction.atomic():  # no head yet: the linker makes it, at genesis
        head = sequencer.locked_head(initech.pk, wait=False)
        assert (head.sequence, head.hash) == (0, chain.GENESIS_HASH)


def test_what_commits_during_a_round_waits_for_the_next_round_not_a_batch_of_its_own(
    acme, in_background, monkeypatch
):
    """A linker that linked, at once, whatever its look after the release found chased its
    organization's writers a batch of one or two events at a time (each batch about 1.5 ms of
    CPU): the thread now leaves that to its next round, GATHER_SECONDS later, in one batch."""
    rounds = []  # what each of the thread's link_pending calls linked
    link_pending, link_batch = sequencer.link_pending, sequencer._link_batch

    def a_writer_commits_after_the_first_batch(organization_id, **kwargs):
        step, read_from = link_batch(organization_id, **kwargs)
        if not rounds:
            with transaction.atomic():  # committed while the thread is still in its round
                record("organization.updated", organization=acme)
                record("organization.updated", organization=acme)
        return step, read_from

    def counted(*args, **kwargs):
        done = link_pending(*args, **kwargs)
        rounds.append(done.linked)
        return done

    monkeypatch.setattr(sequencer, "_link_batch", a_writer_commits_after_the_first_batch)
    monkeypatch.setattr(sequencer, "link_pending", counted)
    with transaction.atomic():
        record("organization.updated", organization=acme)
    deadline = time.monotonic() + 10
    while AuditEvent.objects.filter(organization=acme, sequence__isnull=True).exists():
        assert time.monotonic() < deadline, "the events committed meanwhile were never linked"
        time.sleep(0.01)
    assert sequencer.background.wait_idle(10), rounds
    assert rounds[:2] == [1, 2]  # not [3]: the second round took the two in one batch
    assert verify(acme).ok

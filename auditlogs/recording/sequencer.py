"""The sequencer: the one place that links events onto their organization's chain.

`record()` inserts an event unlinked (sequence, prev_hash and hash empty) in the caller's
transaction and takes no lock, so writers of one organization never wait for each other. Once
the change has committed, the sequencer gives committed events their place: in a short
transaction of its own per batch it locks the organization's ChainHead row, reads unlinked
events in id order (through the partial index `audit_event_unlinked`, from the head's
`scan_from`: see link_pending and ChainHead.scan_from), assigns the gapless
sequence, prev_hash and hash exactly as docs/integrity.md defines them (recording/chain.py),
writes them back in one statement and moves the head. Three places start it:

- `link_after_commit`, which record() registers with `transaction.on_commit` (once per
  organization per transaction): the writing process links right after its own commit when
  nobody else is linking that organization;
- `sweep`, run by the worker's `link_audit_events` job (several times a minute) and by
  `manage.py link_audit_events`: every organization with unlinked events, oldest first;
- the bulk paths (`recorder.append`, storage/bulk.py), which link what is pending before they
  chain their own events under the same lock.

Never linked twice, never forked: each batch's UPDATE only touches rows whose sequence is still
empty and checks it touched every row it meant to, and the head moves only from the sequence
and hash the batch started from (`WHERE sequence = <old>`); any mismatch rolls the whole batch
back (LinkConflict). The database's triggers allow an event exactly one link that changes
nothing else (integrity/guards.py). SQLite has no row locks: its write transactions are
serialized (BEGIN IMMEDIATE) and the same guards make a concurrent linker fail rather than fork.
"""

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import Min
from django.utils import timezone

from auditlogs.conf import app_settings
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain
from auditlogs.storage.backends import backend

logger = logging.getLogger("auditlogs.sequencer")

# What a linker reads of an unlinked event: its id, then every hashed field but the sequence
# (which it assigns), in the declaration's order.
if chain.HASHED_FIELDS[0] != "sequence":
    raise AssertionError("The sequencer expects the sequence first among the hashed fields.")
READ_COLUMNS = ("id", *chain.HASHED_FIELDS[1:])
_OCCURRED_AT = READ_COLUMNS.index("occurred_at")

# An after-commit linker starts no new batch after this long of the request that committed:
# under a steady stream of writes it would otherwise never run out of work, and each batch
# costs a commit. What it leaves is linked by the next writer's linker or the sweep.
AFTER_COMMIT_SECONDS = 0.005
# After finding an organization's chain lock held, a process's linker thread tries again after
# a pause (doubled while the lock stays held, up to the maximum), with the commits of the pause
# in the same go: the holder links what was committed in order, but a straggler of this
# process (an event whose id is below what the holder reads) is linked by this retry.
BUSY_PAUSE_SECONDS = 0.01
BUSY_PAUSE_MAX_SECONDS = 0.2
# After each round, a process's linker thread lets the commits of the next moment gather
# before it links again: under a steady stream one batch carries many events (a batch costs
# about six round trips whatever its size), and an event waits at most this much longer.
# Eight writers on eight organizations linked 1,016-1,084 events/s with 100 ms, 823 with 20
# (bench/writes.py's case, 2 CPUs); on one organization it made no difference.
GATHER_SECONDS = 0.1
# The sweep's time per organization before it moves on to the next.
SWEEP_SECONDS_PER_ORGANIZATION = 1.0


class ChainLockTimeout(OperationalError):
    """The organization's chain lock was held for longer than AUDITLOG_CHAIN_LOCK_TIMEOUT_MS by
    another linker or bulk writer: a bulk write (or a sweep) gave up rather than queue behind
    it, and its transaction rolls back. Transient: try again in a moment. record() never
    takes the lock, so no change to the product ever gets this."""


class LinkConflict(Exception):
    """A batch found the chain moved or its events already linked under it: another linker
    ran at the same time (SQLite, or a lock bypassed). The batch rolled back; nothing was
    linked twice. The next linker carries on from the committed head."""


@dataclass(frozen=True)
class Linked:
    """What one `link_pending` did. `longest_delay` is the seconds from the oldest linked
    event's occurred_at to its link: occurred_at is set when the change is described, inside
    the caller's transaction, so this is an upper bound of the wait after commit (it includes
    the rest of the caller's transaction). `busy`: another linker held the lock and carries on
    (see link_pending)."""

    linked: int = 0
    longest_delay: float | None = None
    busy: bool = False
    last_id: int = 0  # the highest id linked (ids are read in order)
    # The look after the release found more, and the caller asked to link it later (not
    # `chase`): from this id on (see link_pending).
    more_from: int | None = None

    def __add__(self, other: "Linked") -> "Linked":
        delays = [d for d in (self.longest_delay, other.longest_delay) if d is not None]
        return Linked(self.linked + other.linked, max(delays, default=None), other.busy,
                      max(self.last_id, other.last_id), other.more_from)


def link_pending(
    organization_id: int,
    *,
    wait: bool = False,
    batch_size: int | None = None,
    seconds: float | None = None,
    since: int | None = None,
    chase: bool = True,
) -> Linked:
    """Link the organization's committed, unlinked events, a batch per short transaction,
    until none is left (or `seconds` are spent; what is left waits for the next linker).

    Which events: with `since` None (the sweep, checkpoints) the whole queue; with `since`
    (an after-commit linker: the id of the first event its transaction recorded) the queue
    from the head's `scan_from` or `since`, whichever is lower, which holds that linker's own
    events and every event committed in order, without reading past what is linked already.

    With `wait=False` (after a commit) a linker that finds the chain lock held goes away at
    once (PostgreSQL `SKIP LOCKED`) and returns `busy`. That is safe because of one more look:
    the holder, after each batch that emptied its queue and after releasing the lock, checks
    once more whether an unlinked event exists (a cheap EXISTS on the partial index) and goes
    on if so. An event E whose own linker skipped was committed before that linker tried the
    lock, hence before the holder released it, so the holder's look after the release sees E
    (or someone has linked E already): every committed event is either linked by a linker that
    saw it or by the holder it relied on. A holder that reaches its time budget stops without
    that look: what it leaves is linked by the next writer's linker (which reads everything
    waiting) or the sweep. The chain never waits on a linker that died: its lock goes with
    its connection, and the worker's sweep links whatever is left.

    With `wait=True` (the sweep, the bulk paths) the lock is waited for, at most
    AUDITLOG_CHAIN_LOCK_TIMEOUT_MS, then ChainLockTimeout.

    Without `chase` (a process's linker thread) what the look after the release finds is not
    linked at once but returned as `more_from`, for the caller's next round: a linker that
    went on at once chased the writers of its organization, a batch of one or two events at a
    time, each costing what a batch costs (about 1.5 ms of CPU), and eight writers on eight
    organizations linked at half the rate they inserted. The caller links it in its next
    round, so what the look found is still linked by this process (or, should it die, by the
    sweep).
    """
    batch_size = batch_size or app_settings.LINK_BATCH_SIZE
    deadline = None if seconds is None else time.monotonic() + seconds
    done, start, first_start = Linked(), since, None
    while True:
        step, read_from = _link_batch(
            organization_id, wait=wait, batch_size=batch_size, since=start
        )
        done += step
        if step.busy or (deadline is not None and time.monotonic() >= deadline):
            return done
        first_start = read_from if first_start is None else first_start
        if step.linked == batch_size:
            start = step.last_id + 1  # a full batch: more are waiting after it
            continue
        # The look after the release, over what this linker read from.
        if not backend().has_unlinked_events(organization_id, first_start):
            return done
        if not chase:
            return done + Linked(more_from=first_start)
        start = first_start


def link_after_commit(organization_id: int, since: int = 0) -> None:
    """record()'s on_commit hook: link now unless another linker is at it. On PostgreSQL (with
    AUDITLOG_LINK_IN_BACKGROUND) the process's linker thread does it, so the request that
    committed does not wait for its link; on SQLite, or with the setting off, it links here
    within AFTER_COMMIT_SECONDS. The event is committed already, so a failure is logged, never
    raised into the caller; the next linker or the worker's sweep links it."""
    if app_settings.LINK_IN_BACKGROUND and backend().skips_locked_rows:
        background.submit(organization_id, since)
    else:
        _link_logged(organization_id, since, seconds=AFTER_COMMIT_SECONDS)


def _link_logged(
    organization_id: int, since: int, *, seconds: float | None, chase: bool = True
) -> Linked:
    try:
        return link_pending(
            organization_id, wait=False, seconds=seconds, since=since, chase=chase
        )
    except Exception:
        logger.exception(
            "Linking the audit events of organization %s after commit failed; the next "
            "linker or the worker's sweep links them.", organization_id,
        )
        return Linked()


class BackgroundLinker:
    """One daemon thread per process that links the organizations its requests recorded for,
    right after their commits: the request returns as soon as its transaction has committed.
    Organizations submitted while the thread is linking, gathering (GATHER_SECONDS after
    each round) or pausing after a held lock are linked in its next round, so a busy process
    links in larger batches instead of once per request; so is what the look after a round's
    last batch found committed meanwhile (link_pending without `chase`). An organization
    whose chain lock was held stays pending and is tried again (BUSY_PAUSE_SECONDS), so every
    event this process recorded is linked by this process unless it exits first. The thread
    has its own database connection (Django's are per thread). It is started on first use in
    each process (after a fork too); at exit what is pending is linked before the process
    goes; whatever a killed process leaves, the worker's sweep links."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}  # organization: the lowest event id to read from
        self._wake = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._busy = False
        self._waiting_for_work = False  # only then does a submit wake the thread
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False

    def submit(self, organization_id: int, since: int = 0) -> None:
        with self._lock:
            self._add(organization_id, since)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._start()
            elif self._waiting_for_work:
                # Not while it links, gathers or pauses: it takes this with its next round,
                # and waking it for every commit cost each request a switch of threads.
                self._wake.notify()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being linked."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> bool:
        """Link what is pending, then end the thread and close its connection (at exit; the
        next submit starts a new thread). False when it did not finish in time."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake.notify()
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout)
        with self._lock:
            self._stopping, self._thread = False, None
            return thread is None or not thread.is_alive()

    def _add(self, organization_id: int, since: int) -> None:
        known = self._pending.get(organization_id)
        self._pending[organization_id] = since if known is None else min(known, since)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="audit-linker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pause = BUSY_PAUSE_SECONDS
        while True:
            with self._lock:
                self._waiting_for_work = True
                self._wake.wait_for(lambda: self._pending or self._stopping)
                self._waiting_for_work = False
                if not self._pending:
                    connection.close()
                    return
                organizations, self._pending, self._busy = sorted(self._pending.items()), {}, True
            held, found = {}, {}
            try:
                for organization_id, since in organizations:
                    # At exit, all of it now: there is no next round.
                    step = _link_logged(organization_id, since, seconds=None,
                                        chase=self._stopping)
                    if step.busy:
                        held[organization_id] = since
                    elif step.more_from is not None:
                        found[organization_id] = step.more_from
            finally:
                close_old_connections()
                with self._lock:
                    for organization_id, since in found.items():  # for the next round
                        self._add(organization_id, since)
                    if not self._stopping:  # at exit the sweep links what a held lock kept
                        for organization_id, since in held.items():
                            self._add(organization_id, since)
                    self._busy = False
                    self._idle.notify_all()
            if held and not self._stopping:
                time.sleep(pause)
                pause = min(pause * 2, BUSY_PAUSE_MAX_SECONDS)
            else:
                pause = BUSY_PAUSE_SECONDS
                with self._lock:  # a stop does not wait for the gathering
                    self._wake.wait_for(lambda: self._stopping, GATHER_SECONDS)

    def _after_fork(self) -> None:
        # A forked child has no thread, and the parent's lock may have been held at the fork.
        self._lock = threading.Lock()
        self._wake, self._idle = threading.Condition(self._lock), threading.Condition(self._lock)
        self._pending, self._busy, self._thread, self._stopping = {}, False, None, False
        self._waiting_for_work = False


background = BackgroundLinker()
os.register_at_fork(after_in_child=background._after_fork)
atexit.register(background.stop)


def link_after_this_commit(organization_id: int, event_id: int) -> None:
    """Register `link_after_commit` for the organization on the current transaction, at most
    once per organization (outside a transaction it runs at once, as on_commit does), with
    the id of the transaction's first event there, its lowest: its linker reads from it."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(
        isinstance(func, partial) and func.func is link_after_commit
        and func.args[0] == organization_id
        for _, func, _ in conn.run_on_commit
    ):
        return
    transaction.on_commit(partial(link_after_commit, organization_id, event_id), robust=True)


def sweep(*, wait: bool = True, seconds: float | None = SWEEP_SECONDS_PER_ORGANIZATION) -> dict:
    """Link every organization's unlinked events, the one whose oldest has waited longest
    first, spending at most `seconds` on each (writers may keep one busy for ever). A busy or
    failing organization is reported and the others carry on."""
    queue = (
        AuditEvent.objects.unlinked()
        .values("organization_id")
        .annotate(first=Min("id"))
        .order_by("first")
        .values_list("organization_id", flat=True)
    )
    done, busy, failed = Linked(), [], []
    for organization_id in list(queue):
        try:
            step = link_pending(organization_id, wait=wait, seconds=seconds)
        except ChainLockTimeout:
            busy.append(organization_id)
            continue
        except (LinkConflict, OperationalError) as error:
            logger.warning("Linking organization %s failed: %s", organization_id, error)
            failed.append(organization_id)
            continue
        done += step
        if step.busy:
            busy.append(organization_id)
    return {
        "linked": done.linked,
        "longest_delay_seconds": None if done.longest_delay is None
        else round(done.longest_delay, 3),
        "busy_organizations": busy,
        "failed_organizations": failed,
    }


def oldest_unlinked_age(now: datetime | None = None) -> float | None:
    """Seconds since the oldest unlinked event occurred (any organization); None if none."""
    oldest = AuditEvent.objects.unlinked().aggregate(
        oldest=Min("occurred_at")
    )["oldest"]
    return None if oldest is None else ((now or timezone.now()) - oldest).total_seconds()


def locked_head(organization_id: int, *, wait: bool = True) -> ChainHead | None:
    """The organization's chain head, locked until the transaction ends (created at genesis
    when missing). Every linker holds it while linking. With `wait` a linker waits at most
    AUDITLOG_CHAIN_LOCK_TIMEOUT_MS, then gets ChainLockTimeout; without, it gets None at once
    when another holds it (PostgreSQL `SKIP LOCKED`)."""
    timeout_ms = app_settings.CHAIN_LOCK_TIMEOUT_MS if wait else 1
    wait_ms = timeout_ms if wait else None
    database = backend()
    try:
        row = database.lock_chain_head(organization_id, wait_ms=wait_ms)
        if row is None:
            # The organization's first event: the insert waits on a concurrent first
            # linker's uncommitted head, as boundedly as on a lock.
            database.bound_lock_waits_now(timeout_ms)
            ChainHead.objects.bulk_create(
                [ChainHead(organization_id=organization_id, sequence=0,
                           hash=chain.GENESIS_HASH)],
                ignore_conflicts=True,
            )
            row = database.lock_chain_head(organization_id, wait_ms=wait_ms)
        if row is None or row[0] is None:
            return None  # another linker holds it (a concurrent first linker, too)
        # As the ORM would load it (saved, from this database; the row holds the model's
        # fields in their order): the caller may save it.
        return ChainHead.from_db(connection.alias, None, (organization_id, *row))
    except OperationalError as error:
        if not backend().is_lock_timeout(error):
            raise
        if not wait:
            return None
        raise ChainLockTimeout(
            f"The audit log of organization {organization_id} is busy: another linker held "
            f"its chain lock for {timeout_ms} ms. Nothing was changed; try again in a moment."
        ) from error


def link_locked(head: ChainHead, batch_size: int | None = None) -> Linked:
    """Link the pending events under a head the caller has locked (the bulk paths, inside
    their own transaction), moving `head` along; the caller saves it."""
    batch_size = batch_size or app_settings.LINK_BATCH_SIZE
    done = Linked()
    while True:
        step = _link_rows(head, batch_size, read_from=done.last_id + 1 if done.linked else 0)
        done += step
        if step.linked < batch_size:
            return done


def _link_batch(
    organization_id: int, *, wait: bool, batch_size: int, since: int | None
) -> tuple[Linked, int]:
    """One batch in a transaction of its own; (what it linked, the id it read from)."""
    with transaction.atomic():
        head = locked_head(organization_id, wait=wait)
        if head is None:
            transaction.set_rollback(True)  # a refused lock may have aborted the transaction
            return Linked(busy=True), 0
        read_from = 0 if since is None else min(since, head.scan_from)
        return _link_rows(head, batch_size, read_from, move_head=True), read_from


def _link_rows(
    head: ChainHead, batch_size: int, read_from: int = 0, *, move_head: bool = False
) -> Linked:
    """One batch: read the unlinked events from id `read_from` on, in id order, hash them onto
    `head` and write the links back in one statement; `head` ends at the last one, its
    scan_from past the last id read when the read started at or below it (every unlinked
    event committed in between is linked now). With `move_head` the head's row moves in the
    same statement (only from where it was: LinkConflict otherwise); else only the `head` in
    memory moves and the caller saves it."""
    organization_id = head.organization_id
    rows = backend().unlinked_events(
        AuditEvent.objects, organization_id, batch_size, READ_COLUMNS, from_id=read_from
    )
    if not rows:
        return Linked()
    sequence, prev_hash, links = head.sequence, head.hash, []
    canonical_event, hash_body = chain.canonical_event, chain.hash_body
    for row in rows:
        sequence += 1
        digest = hash_body(prev_hash, canonical_event(organization_id, (sequence, *row[1:])))
        links.append((row[0], row[_OCCURRED_AT], sequence, prev_hash, digest))
        prev_hash = digest
    last_id = rows[-1][0]
    scan_from = max(head.scan_from, last_id + 1) if read_from <= head.scan_from else head.scan_from
    moving = ((head.sequence, head.hash), (sequence, prev_hash, scan_from)) if move_head else None
    written, moved = backend().link_events(connection, organization_id, links, moving)
    if written != len(links):
        raise LinkConflict(
            f"{len(links) - written} of {len(links)} events of organization {organization_id} "
            "were linked by another linker meanwhile."
        )
    if moved is False:
        raise LinkConflict(f"The chain head of organization {organization_id} moved during a link.")
    head.sequence, head.hash, head.scan_from = sequence, prev_hash, scan_from
    oldest = min(_as_time(row[_OCCURRED_AT]) for row in rows)
    return Linked(len(links), (timezone.now() - oldest).total_seconds(), last_id=last_id)


def _as_time(value) -> datetime:
    """occurred_at as read: a datetime, or (PostgreSQL) its canonical text."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value

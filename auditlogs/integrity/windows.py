"""Verifying a long chain on every core: windows of it walked in worker processes, then joined.

Every event carries the hash it links to, so a window of the chain can be walked alone: each of
its events must hash to its own hash from that link and its fields, link to the hash of the
event before it in the window and follow it in sequence. Worker processes (one per CPU and one
more, each with a database connection of its own) walk one window after another, each from its
first event's link on, fetching and hashing at the same time as the others; checkpoints that fall
inside a window are matched there. The verifier joins the windows in order: a window joins on
when it was walked to its end without a break and its first event is the one expected, linked
to the hash the chain so far ends with.

A join carries exactly the state the one-batch-after-the-other walk would have reached, so at
the first window that does not join on (a break inside it or at its start, a checkpoint it
contradicts) the verifier hands out no more windows and walks on from there one batch after the
other: the report, and which event it names first, is the one it makes without windows.
"""

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import islice

from django.db import connection

from auditlogs.conf import app_settings
from auditlogs.integrity.chain_walk import Walk, linked_events, walk_range
from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.storage.backends import backend


@dataclass(frozen=True)
class Window:
    organization_id: int
    low: int
    high: int
    statements: list[SignedStatement]  # the valid checkpoints with low <= sequence <= high
    batch_size: int


@dataclass(frozen=True)
class Walked:
    """A window walked alone: its first event, and how far the walk got (None: it broke)."""

    low: int
    high: int
    first_id: int | None
    first_prev_hash: str | None
    walk: Walk | None


def walk(organization_id: int, chain_walk: Walk, end: int, batch_size: int,
         after_window: Callable[[], None]) -> int:
    """Advance `chain_walk` over the windows through event #`end` that join on, stopping at the
    first that does not; returns how many windows were joined."""
    joined = 0
    with _walked_windows(_windows(organization_id, chain_walk, end, batch_size)) as walked:
        for window in walked:
            if not join(chain_walk, window):
                break
            joined += 1
            after_window()
    return joined


def _windows(organization_id: int, chain_walk: Walk, end: int, batch_size: int):
    size = app_settings.VERIFY_WINDOW
    statements = chain_walk.statements[chain_walk.next_statement:]
    for low in range(chain_walk.expected, end + 1, size):
        high = min(low + size - 1, end)
        inside = [s for s in statements if low <= s.sequence <= high]
        yield Window(organization_id, low, high, inside, min(batch_size, size))


def walk_window(window: Window) -> Walked:
    """Walk one window alone (in a worker process, or in this one)."""
    first = (
        linked_events(window.organization_id).filter(sequence=window.low).order_by("id")
        .values_list("id", "prev_hash").first()
    )
    if first is None:
        return Walked(window.low, window.high, None, None, None)
    first_id, first_prev_hash = first
    alone = Walk(
        expected=window.low, prev_hash=first_prev_hash, statements=window.statements,
        vouched_through=window.low - 1,
    )
    stop = walk_range(window.organization_id, alone, window.high, window.batch_size)
    walked = None if stop is not None else replace(alone, statements=[])
    return Walked(window.low, window.high, first_id, first_prev_hash, walked)


def join(chain_walk: Walk, window: Walked) -> bool:
    """Advance `chain_walk` over a window walked alone, as walking it on would have; False
    (and `chain_walk` unchanged) when the window does not join on."""
    alone = window.walk
    if (
        alone is None
        or alone.expected != window.high + 1
        or window.low != chain_walk.expected
        or window.first_prev_hash != chain_walk.prev_hash
    ):
        return False
    if (
        chain_walk.prev_id is not None and window.first_id < chain_walk.prev_id
        and chain_walk.id_descent is None
    ):
        chain_walk.id_descent = window.low - 1
    if alone.matched:  # a checkpoint inside vouches for the window up to it
        chain_walk.vouched_through, chain_walk.id_descent = alone.vouched_through, alone.id_descent
    elif chain_walk.id_descent is None:
        chain_walk.id_descent = alone.id_descent
    chain_walk.expected, chain_walk.prev_hash = alone.expected, alone.prev_hash
    chain_walk.prev_id = alone.prev_id
    chain_walk.checked += alone.checked
    chain_walk.matched += alone.matched
    chain_walk.next_statement += alone.next_statement
    return True


def workers() -> int:
    """How many processes walk windows: 1 (this one) where the database cannot be read from
    several processes (SQLite); inside a transaction, whose view of the chain other processes
    do not share; and where this process may not start any (a daemonic process, like a worker
    of a process pool). By default one per CPU and one more: each worker also waits while its
    rows are read (on the same CPUs when the database runs there), and with one per CPU the
    CPUs were idle 3-9% of a verification of a million events, about 1% with one more."""
    if (
        not backend().reads_from_worker_processes
        or connection.in_atomic_block
        or multiprocessing.current_process().daemon
    ):
        return 1
    return app_settings.VERIFY_WORKERS or (os.cpu_count() or 1) + 1


@contextmanager
def _walked_windows(windows) -> Iterator[Iterator[Walked]]:
    count = workers()
    if count == 1:
        yield map(walk_window, windows)
        return
    from auditlogs.integrity import window_process

    database_name = connection.settings_dict["NAME"]
    pool = _process_context().Pool(
        count, initializer=window_process.start, initargs=(database_name,)
    )
    try:
        yield _in_order(pool, window_process.walk_window, windows, ahead=2 * count)
    finally:
        # Never Pool.terminate(): a worker killed while it hands back a result keeps the
        # result queue's lock for ever, and the pool's own shutdown then waits on that lock
        # (a verifier hung so, once, in the test suite). The workers finish the few windows
        # handed out (at most `ahead`) and exit.
        pool.close()
        pool.join()


def _in_order(pool, walk_one, windows, *, ahead: int) -> Iterator[Walked]:
    """The windows walked by the pool's workers, in order, at most `ahead` handed out beyond
    the one the caller waits for: a caller that stops (a window did not join) leaves only
    those to finish."""
    windows = iter(windows)
    handed_out = deque(pool.apply_async(walk_one, (w,)) for w in islice(windows, ahead))
    while handed_out:
        walked = handed_out.popleft().get()
        window = next(windows, None)
        if window is not None:
            handed_out.append(pool.apply_async(walk_one, (window,)))
        yield walked


def _process_context():
    """Where the workers come from: a fork server that preloads window_process.py, so Django is
    set up once there (its first start took 3.7 s on a loaded 2-CPU machine, a worker after it
    little).
    Forking this process would start faster but a child must not share its database connection,
    and closing that first would break what the caller is doing with it (a server-side cursor
    over the organizations, in verify_audit_log)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "auditlogs.integrity.window_process"])
    return context

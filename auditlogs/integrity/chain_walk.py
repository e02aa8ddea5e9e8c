"""Walking a stretch of an organization's chain in sequence order: the verifier's hot loop.

A `Walk` is where a walk along the chain stands: the next sequence expected, the hash that
event must link to, the signed checkpoints still ahead. `walk_range` reads the linked events of
a sequence range in bounded batches and advances the walk over every event that links and
hashes right, until the range ends, an event breaks the chain or a checkpoint does not match
its event (a `Stop`). verification.py walks a whole chain with it, one batch after the other;
windows.py walks windows of a long chain with it in worker processes and joins them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

from django.db.models import Min

from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.models import AuditEvent
from auditlogs.recording import chain
from auditlogs.storage.backends import backend

COLUMNS = ("id", *chain.HASHED_FIELDS, "prev_hash", "hash")
# A row of either pass: its id, what its canonical text is written from (hashed fields as
# stored; or rendered, event_form.rendered, beginning with the sequence), its links.
ID, SEQUENCE, PREV_HASH, HASH = 0, 1, -2, -1


def linked_events(organization_id: int):
    """The organization's events that are part of its chain (linked: they have a sequence)."""
    return AuditEvent.objects.filter(organization_id=organization_id).linked()


@dataclass
class Walk:
    expected: int  # the next sequence
    prev_hash: str  # the hash the next event must link to
    statements: list[SignedStatement]  # valid checkpoints from first_sequence on, in order
    vouched_through: int  # the newest sequence genesis or a matched checkpoint vouches for
    next_statement: int = 0  # statements[:next_statement] are behind the walk
    prev_id: int | None = None
    id_descent: int | None = None  # an event stored out of insertion order since vouched_through
    checked: int = 0
    matched: int = 0  # checkpoints matched


_WALK_FIELDS = tuple(f.name for f in fields(Walk))


@dataclass(frozen=True)
class Stop:
    row: tuple | None = None  # the first event that breaks the chain, as COLUMNS
    statement: SignedStatement | None = field(default=None)  # or the checkpoint it contradicts


def walk_range(
    organization_id: int, walk: Walk, high: int | None, batch_size: int,
    after_batch: Callable[[], None] | None = None,
) -> Stop | None:
    """Walk the events from walk.expected through `high` (None: to the end of the chain)."""
    events = linked_events(organization_id)
    low = walk.expected
    while True:
        top = low + batch_size - 1 if high is None else min(low + batch_size - 1, high)
        rows, stop = read_and_walk(organization_id, events, walk, low, top)
        if stop is not None:
            return stop
        if after_batch is not None:
            after_batch()
        if rows:
            low += batch_size
            if high is not None and low > high:  # the range is walked: no query for nothing
                return None
            continue
        later = events.filter(sequence__gte=low)
        if high is not None:
            later = later.filter(sequence__lte=high)
        low = later.aggregate(low=Min("sequence"))["low"]
        if low is None:
            return None


def read_and_walk(organization_id: int, events, walk: Walk, low: int, high: int):
    """Read the events from #`low` through #`high` and advance `walk` over them; (rows, Stop
    or None).

    The fast pass reads the rows rendered by the database (chain.canonical_rendered) in
    sequence order, events sharing a sequence in any order among themselves (faster on
    PostgreSQL). A walk that reaches the end of them met no such pair: each event it passes
    has the sequence after the one before, so the order was the (sequence, id) order. A walk
    that stops may have met one, so the batch is read again the exact way, values as stored
    (chain.canonical_event) in (sequence, id) order, and walked again from where it started:
    the break, and the event it names, are the ones that order gives. An event the fast pass
    cannot write exactly (chain.Unrendered) costs a second read, never a verdict.
    """
    rows = backend().rendered_chain_window(events, organization_id, low, high)
    start = replace(walk)
    try:
        stop = walk_rows(organization_id, rows, walk, chain.canonical_rendered)
    except chain.Unrendered:  # an event only canonical_event writes exactly: read again
        stop = Stop()
    if stop is None:
        return rows, None
    rows = backend().chain_window(events, organization_id, low, high, COLUMNS)
    for name in _WALK_FIELDS:
        setattr(walk, name, getattr(start, name))
    return rows, walk_rows(organization_id, rows, walk, chain.canonical_event)


def walk_rows(organization_id: int, rows, walk: Walk, canonical_event) -> Stop | None:
    """Advance `walk` over rows (in sequence order) while each one links and hashes right,
    their canonical text written by `canonical_event` (or chain.canonical_rendered)."""
    expected, prev_hash, prev_id = walk.expected, walk.prev_hash, walk.prev_id
    statements, next_statement = walk.statements, walk.next_statement
    hash_body = chain.hash_body
    stop = None
    for row in rows:
        sequence, row_prev, row_hash = row[SEQUENCE], row[PREV_HASH], row[HASH]
        if (
            sequence != expected
            or row_prev != prev_hash
            or hash_body(row_prev, canonical_event(organization_id, row[SEQUENCE:PREV_HASH]))
            != row_hash
        ):
            stop = Stop(row=row)
            break
        if prev_id is not None and row[ID] < prev_id and walk.id_descent is None:
            walk.id_descent = sequence - 1
        while next_statement < len(statements) and statements[next_statement].sequence == sequence:
            statement = statements[next_statement]
            next_statement += 1
            if statement.head_hash != row_hash:
                stop = Stop(statement=statement)
                break
            walk.vouched_through, walk.id_descent = sequence, None
            walk.matched += 1
        if stop is not None:
            break
        prev_hash, prev_id = row_hash, row[ID]
        expected += 1
    walk.checked += expected - walk.expected
    walk.expected, walk.prev_hash, walk.prev_id = expected, prev_hash, prev_id
    walk.next_statement = next_statement
    return stop

"""The bulk path: many chained events at once, by COPY on PostgreSQL, batched inserts elsewhere.

Used by `generate_audit_events` (benchmarks, demos). Events are described by templates:
everything an event says except its time, request id and place in the chain. A template's
canonical form (auditlogs.recording.chain) is computed once with placeholder values; per
event only the time, the request id and the sequence are spliced in, and the link hash is
computed from that body. The columns and which of them vary per event are derived from the
declaration of the hashed form (auditlogs/recording/event_form.py) and checked against it when
this module is imported. Every batch re-checks its first event with `chain.link_hash` itself, and
tests/auditlogs/test_bulk.py checks whole chains against `chain.link_hash`, so the two can
never silently disagree. (chain.canonical_event builds the same text field by field; splicing a
precomputed template is about three times faster, which is what lets generation keep up with
COPY.)

Writers of one organization are serialized by the ChainHead row lock the sequencer links
under (recording/sequencer.py); each batch first links the events `record` left unlinked,
then chains its own after them. Each batch is its own transaction, so a long generation can be
interrupted and continued, and the sequencer links other requests' events between batches.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain as concat
from itertools import islice
from json.encoder import encode_basestring
from typing import NamedTuple

from django.db import connection, transaction

from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import chain, event_form, sequencer
from auditlogs.storage import partitions
from auditlogs.storage.backends import backend

# The columns COPY writes, in order; `id` comes from the table's identity sequence.
COPY_COLUMNS = ("organization_id", *event_form.NAMES, "prev_hash", "hash")
# What varies per event, in the order of their keys in canonical text (sorted).
_VARYING = tuple(sorted(("sequence", "occurred_at", "request_id")))
_FIXED_COLUMNS = tuple(name for name in event_form.NAMES if name not in _VARYING)
# A COPY line is written as "org, sequence, time, <fixed fields>, request id, hashes" (fast
# f-string below); the declaration must keep that layout.
if ("sequence", "occurred_at", *_FIXED_COLUMNS, "request_id") != event_form.NAMES:
    raise AssertionError("bulk's COPY line no longer matches event_form.HASHED; update it.")
# Placeholders whose canonical JSON is unmistakable; replaced by each event's own values.
_PLACEHOLDERS = {
    "sequence": 918_273_645_546_372_819,
    "occurred_at": datetime.fromisoformat("1111-11-11T11:11:11.111111+00:00"),
    "request_id": "bulk-request-id-placeholder",
}
_PLACEHOLDER_TEXT = {
    "sequence": str(_PLACEHOLDERS["sequence"]),
    "occurred_at": f'"{chain.format_time(_PLACEHOLDERS["occurred_at"])}"',
    "request_id": f'"{_PLACEHOLDERS["request_id"]}"',
}
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_COPY_ESCAPE = re.compile(r"[\\\t\n\r]")
_CHUNK_ROWS = 2_000  # rows per COPY message batch: small enough to overlap, large enough to matter
_CHUNK_CHARS = 1 << 20

DEFAULT_BATCH = 50_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_US = 60_000_000


class Draw(NamedTuple):
    """One event to write: a template and the values that vary per event. Its time is in
    microseconds since the Unix epoch, which formats far faster than a datetime. (A named
    tuple: generation creates millions of them.)"""

    template: "Template"
    epoch_us: int
    request_id: str

    @property
    def occurred_at(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.epoch_us)

    @classmethod
    def at(cls, template: "Template", moment: datetime, request_id: str) -> "Draw":
        return cls(template, (moment - _EPOCH) // timedelta(microseconds=1), request_id)


class _TimeText:
    """`chain.format_time` for epoch microseconds. Events come in time order, so the text up
    to the minute is remembered from the previous call."""

    def __init__(self):
        self._minute, self._prefix = None, ""

    def __call__(self, epoch_us: int) -> str:
        minute, micros = divmod(epoch_us, _MINUTE_US)
        if minute != self._minute:
            self._minute = minute
            self._prefix = (_EPOCH + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")
        return f"{self._prefix}{micros // 1_000_000:02d}.{micros % 1_000_000:06d}Z"


class Template:
    """The fixed fields of a family of events (action, severity, project, actor, target...)."""

    def __init__(self, organization_id: int, **fields):
        missing = set(_FIXED_COLUMNS) - set(fields)
        if missing:
            raise ValueError(f"A template needs {sorted(missing)}.")
        self.organization_id = organization_id
        self.fields = {name: fields[name] for name in _FIXED_COLUMNS}
        body = chain.canonical_json(
            chain.payload(organization_id, {**self.fields, **_PLACEHOLDERS})
        )
        self._parts = _split(body)
        # The fixed fields as one piece of a COPY line, tab-separated and escaped.
        self.copy_fixed = "\t".join(_copy_text(self.fields[name]) for name in _FIXED_COLUMNS)

    def canonical(self, sequence: int, occurred_text: str, request_id: str) -> str:
        before_time, before_request, before_sequence, rest = self._parts
        return (
            f'{before_time}"{occurred_text}"{before_request}{encode_basestring(request_id)}'
            f"{before_sequence}{sequence}{rest}"
        )

    def event_fields(self, sequence: int, occurred_at: datetime, request_id: str) -> dict:
        return {
            **self.fields, "sequence": sequence, "occurred_at": occurred_at,
            "request_id": request_id,
        }


def write(
    organization_id: int,
    draws: Iterable[Draw],
    *,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[int], None] | None = None,
    keep_last_batch: bool = False,
) -> "WriteResult":
    """Chain the drawn events onto the organization's log and insert them; returns the count
    (and, with keep_last_batch, the last batch's COPY text for a raw-COPY comparison).

    On PostgreSQL each batch is drawn and linked while it is being copied: rows go to the
    server in chunks as they are made, so PostgreSQL stores one chunk while Python makes the
    next, and a batch costs about the slower of the two instead of their sum."""
    draws = iter(draws)
    written, last_text = 0, None
    copy = backend().bulk_writes_by_copy
    for first in draws:
        batch = concat([first], islice(draws, batch_size - 1))
        with transaction.atomic():
            head = sequencer.locked_head(organization_id)
            sequencer.link_locked(head)  # what record() left unlinked goes first
            start = head.sequence
            rows = _linked(organization_id, head, batch)
            if copy:
                kept = [] if keep_last_batch else None
                copy_chunks(_copy_chunks(organization_id, rows, kept))
                if keep_last_batch:
                    last_text = "".join(kept)
            else:
                _insert(organization_id, list(rows))
            head.save(update_fields=ChainHead.MOVING_FIELDS)
        written += head.sequence - start
        if on_batch:
            on_batch(written)
    return WriteResult(written, last_text)


@dataclass(frozen=True)
class WriteResult:
    written: int
    last_batch_copy_text: str | None


def copy_chunks(chunks: Iterable[str]) -> None:
    """COPY rows in PostgreSQL's text format into the event table (through the parent, so
    each row lands in its month's partition). Each chunk is sent as soon as it is made; the
    server stores it while the caller makes the next. (psycopg's QueuedLibpqWriter, which
    sends from a thread, measured slower here: the thread competes for the GIL.)"""
    columns = ", ".join(f'"{c}"' for c in COPY_COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        statement = f'COPY "{AuditEvent._meta.db_table}" ({columns}) FROM STDIN'
        with raw.copy(statement) as pipe:
            for chunk in chunks:
                pipe.write(chunk)


def copy_text(text: str) -> None:
    """COPY ready-made rows (the raw-COPY baseline of the benchmark)."""
    copy_chunks(text[start : start + _CHUNK_CHARS] for start in range(0, len(text), _CHUNK_CHARS))


@contextmanager
def secondary_indexes_deferred():
    """Bulk-load mode (PostgreSQL, for loading millions into a database nobody reads yet):
    drop the event table's secondary indexes, load, and build them once afterwards. A sorted
    build is several times cheaper than maintaining every index row by row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname <> %s",
            [partitions.TABLE, f"{partitions.TABLE}_pkey"],
        )
        indexes = cursor.fetchall()
        for index_name, _ in indexes:
            cursor.execute(f'DROP INDEX "{index_name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for _, definition in indexes:
                # pg_indexes shows a partitioned index as "ON ONLY parent"; built on the parent
                # without ONLY, it is built on every partition too.
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
            cursor.execute("RESET maintenance_work_mem")


def _linked(organization_id: int, head, batch: Iterable[Draw]) -> Iterator[tuple]:
    """(draw, sequence, occurred_text, prev_hash, hash) for each event, chained onto `head`;
    `head` holds the new end of the chain once the last row has been taken."""
    prev = head.hash
    first = sequence = head.sequence + 1
    time_text, hash_body = _TimeText(), chain.hash_body
    for draw in batch:
        occurred_text = time_text(draw.epoch_us)
        digest = hash_body(prev, draw.template.canonical(sequence, occurred_text, draw.request_id))
        row = (draw, sequence, occurred_text, prev, digest)
        if sequence == first:
            _check_first_link(organization_id, prev, row)
        yield row
        prev = digest
        sequence += 1
    head.sequence, head.hash = sequence - 1, prev


def _check_first_link(organization_id: int, prev_hash: str, row: tuple) -> None:
    draw, sequence, _, _, digest = row
    fields = draw.template.event_fields(sequence, draw.occurred_at, draw.request_id)
    if chain.link_hash(prev_hash, organization_id, fields) != digest:
        raise AssertionError("The bulk path disagrees with chain.link_hash.")


def _copy_chunks(organization_id: int, rows: Iterable[tuple], kept: list | None) -> Iterator[str]:
    """Rows as COPY text lines, joined into chunks of _CHUNK_ROWS (each also kept in `kept`)."""
    org = str(organization_id)
    lines = (
        f"{org}\t{sequence}\t{occurred_text}\t{draw.template.copy_fixed}\t"
        f"{_copy_request_id(draw.request_id)}\t{prev}\t{digest}\n"
        for draw, sequence, occurred_text, prev, digest in rows
    )
    while chunk := "".join(islice(lines, _CHUNK_ROWS)):
        if kept is not None:
            kept.append(chunk)
        yield chunk


def _copy_request_id(value: str) -> str:
    """`_copy_text` for the one per-event text, skipping the work when nothing needs escaping."""
    return value.translate(_COPY_ESCAPES) if _NEEDS_COPY_ESCAPE.search(value) else value


def _insert(organization_id: int, rows: list[tuple]) -> None:
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization_id=organization_id,
                prev_hash=prev,
                hash=digest,
                **draw.template.event_fields(sequence, draw.occurred_at, draw.request_id),
            )
            for draw, sequence, _, prev, digest in rows
        ],
        batch_size=500,
    )


def _split(body: str) -> tuple[str, str, str, str]:
    """The canonical text cut around the placeholders. Keys are sorted, so the time, the
    request id and the sequence always come in that order."""
    parts, position = [], 0
    for name in _VARYING:
        placeholder = _PLACEHOLDER_TEXT[name]
        if body.count(placeholder) != 1:
            raise ValueError(f"A template's fields contain the {name} placeholder.")
        index = body.index(placeholder)
        if index < position:
            raise AssertionError("Canonical keys are no longer in the expected order.")
        parts.append(body[position:index])
        position = index + len(placeholder)
    parts.append(body[position:])
    return tuple(parts)


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dict | list):
        value = chain.canonical_json(value)
    return str(value).translate(_COPY_ESCAPES)

"""Verifying an organization's chain against its signed checkpoints, and the page's summary.

`verify` streams the linked events in sequence order in bounded batches (constant memory),
recomputes every link and compares the chain with every valid checkpoint (chain_walk.py; a long
chain in windows walked in parallel and joined, windows.py, with the same result). It stops at
the first break and names the event and the kind of break. Only then does it spend a few extra
queries telling the kinds apart (`_diagnose`), so the clean path stays indexed range scans.

What hashes alone catch: a modified event, a missing event (gap), an event inserted without
re-hashing its successors, a reordered pair. What needs the signed checkpoints: a cut tail
(the newest events deleted), a chain recomputed by someone with database access, whose
hashes are consistent but no longer match what the server signed, and a log that starts after
event #1 without a signed retention cut saying why. What needs the witness file: a log erased
together with its organization (`erased_organizations`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db.models import Exists, OuterRef
from django.utils import timezone

from auditlogs import record
from auditlogs.conf import app_settings
from auditlogs.integrity import signing, windows
from auditlogs.integrity.chain_walk import (
    COLUMNS,
    HASH,
    ID,
    PREV_HASH,
    SEQUENCE,
    Walk,
    linked_events,
    walk_range,
)
from auditlogs.integrity.checkpoints import (
    SignedStatement,
    signed_statements,
    witnessed_organizations,
)
from auditlogs.models import ChainHead, Checkpoint, IntegrityFailure
from auditlogs.recording import chain
from auditlogs.recording.context import Actor

FAILURE_ACTION = "audit_log.integrity_failed"


class Kind(StrEnum):
    MODIFIED = "modified event"
    MISSING = "missing event"
    FORGED = "inserted or forged event"
    REORDERED = "reordered pair"
    CUT_TAIL = "cut tail"
    BAD_CHECKPOINT = "invalid checkpoint"
    UNATTESTED_CUT = "unattested cut"
    ERASED = "erased log"


@dataclass(frozen=True)
class Problem:
    kind: Kind
    sequence: int  # the first broken event
    detail: str

    def __str__(self):
        return f"{self.kind} at event #{self.sequence}: {self.detail}"


@dataclass
class Report:
    organization_id: int
    first_sequence: int = 0  # the first event recomputed (0: none)
    last_sequence: int = 0  # the newest event that verified
    head_hash: str = chain.GENESIS_HASH
    checked: int = 0
    checkpoints_matched: int = 0
    windows: int = 0  # windows of the chain verified in parallel (0: one batch after the other)
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


Progress = Callable[[int, int], None]


def verify(
    organization,
    *,
    incremental: bool = False,
    through: int | None = None,
    progress: Progress | None = None,
    batch_size: int = 5000,
) -> Report:
    """Verify the organization's chain (from the newest valid checkpoint when `incremental`,
    up to event #`through` when given)."""
    org_id = organization.pk
    keys = signing.verification_keys()
    statements = signed_statements(org_id)
    valid, forged_checkpoint = [], None
    for statement in statements:  # each signature is checked once
        if statement.is_valid(keys):
            valid.append(statement)
        elif forged_checkpoint is None:
            forged_checkpoint = statement
    events = linked_events(org_id)
    head_sequence = ChainHead.sequence_for(org_id)
    report = Report(org_id)

    start = _start(events, valid, incremental, through, report)
    if report.problem is None:
        _stream(org_id, events, valid, start, through, batch_size, progress, head_sequence, report)
    if report.problem is None:
        _check_end(valid, head_sequence, through, report)
    if forged_checkpoint is not None and (
        report.problem is None or forged_checkpoint.sequence < report.problem.sequence
    ):
        report.problem = Problem(
            Kind.BAD_CHECKPOINT,
            forged_checkpoint.sequence,
            f"a checkpoint ({forged_checkpoint.source}, key id {forged_checkpoint.key_id}) "
            "carries a signature that no known key verifies: it was forged or altered, or "
            "its key is missing from AUDITLOG_RETIRED_PUBLIC_KEYS",
        )
    return report


@dataclass
class _Start:
    sequence: int  # the first event to recompute
    prev_hash: str  # the hash it must link to
    vouched_through: int  # the newest sequence vouched for by genesis or a checkpoint
    is_anchor: bool


def _start(events, valid, incremental, through, report) -> _Start:
    """Where streaming begins: genesis, the checkpoint that vouches for the first retained
    event, or (incremental) the newest checkpoint that still matches its event."""
    if incremental:
        for statement in reversed(valid):
            # A retention cut's own event is gone by design: start from a plain checkpoint.
            if statement.is_retention_cut or (through is not None and statement.sequence > through):
                continue
            stored = events.filter(sequence=statement.sequence).values_list("hash", flat=True)
            if list(stored) == [statement.head_hash]:
                report.last_sequence, report.head_hash = statement.sequence, statement.head_hash
                return _Start(statement.sequence + 1, statement.head_hash, statement.sequence, True)
            break  # it no longer matches: a full verification names the break
    first = events.order_by("sequence", "id").values_list("sequence", "prev_hash").first()
    if first is None or first[0] == 1:
        return _Start(1, chain.GENESIS_HASH, 0, False)
    first_sequence, first_prev = first
    cuts = [s for s in valid if s.is_retention_cut]
    anchor = next((s for s in cuts if s.sequence == first_sequence - 1), None)
    if anchor is not None and anchor.head_hash == first_prev:
        report.last_sequence, report.head_hash = anchor.sequence, anchor.head_hash
        return _Start(first_sequence, first_prev, anchor.sequence, True)
    missing_from = max((s.sequence for s in cuts if s.sequence < first_sequence), default=0)
    plain = next(
        (s for s in valid if s.sequence == first_sequence - 1 and s.head_hash == first_prev), None
    )
    if anchor is not None:
        report.problem = Problem(
            Kind.FORGED, first_sequence,
            f"the first retained event does not follow the retention cut signed for "
            f"#{anchor.sequence} at {chain.format_time(anchor.signed_at)}",
        )
    elif plain is not None:
        report.problem = Problem(
            Kind.UNATTESTED_CUT, missing_from + 1,
            f"{_span(missing_from + 1, first_sequence - 1)} gone; a plain checkpoint signed at "
            f"{chain.format_time(plain.signed_at)} matches #{plain.sequence}, but no signed "
            "retention cut says they were removed under a retention policy",
        )
    else:
        report.problem = Problem(
            Kind.MISSING, missing_from + 1,
            f"{_span(missing_from + 1, first_sequence - 1)} missing and no signed retention cut "
            f"vouches for #{first_sequence} as the first retained event",
        )
    return _Start(first_sequence, first_prev, 0, False)


def _stream(org_id, events, valid, start, through, batch_size, progress, head, report):
    walk = Walk(
        expected=start.sequence, prev_hash=start.prev_hash,
        statements=[s for s in valid if s.sequence >= start.sequence],
        vouched_through=start.vouched_through,
    )
    report.first_sequence = start.sequence
    end = head if through is None else through
    total = max(end - start.sequence + 1, 0)

    def after_batch():
        if progress is not None:
            progress(walk.checked, total)

    if total >= app_settings.VERIFY_PARALLEL_FROM:
        report.windows = windows.walk(org_id, walk, end, batch_size, after_batch)
    # The rest (all of it below the threshold), and from a window that did not join on: one
    # batch after the other, which names the first break.
    stop = walk_range(org_id, walk, through, batch_size, after_batch)
    report.checked, report.checkpoints_matched = walk.checked, walk.matched
    report.last_sequence, report.head_hash = walk.expected - 1, walk.prev_hash
    if stop is None:
        return
    if stop.statement is not None:
        report.problem = _recomputed(stop.statement, walk.vouched_through, walk.id_descent)
    else:
        report.problem = _diagnose(
            org_id, events, stop.row, walk.expected, walk.prev_hash, walk.expected == start.sequence
        )


def _check_end(valid, head_sequence, through, report):
    last = report.last_sequence
    if through is not None:
        if last < through:
            report.problem = Problem(
                Kind.MISSING, last + 1, f"{_span(last + 1, through)} missing"
            )
        return
    newest = valid[-1] if valid else None
    if newest is not None and newest.sequence > last:
        report.problem = Problem(
            Kind.CUT_TAIL, last + 1,
            f"the log ends at #{last}, but a checkpoint signed at "
            f"{chain.format_time(newest.signed_at)} vouches for #{newest.sequence}: "
            f"{_span(last + 1, newest.sequence)} gone",
        )
    elif head_sequence > last:
        report.problem = Problem(
            Kind.CUT_TAIL, last + 1,
            f"the log ends at #{last}, but the chain head records #{head_sequence}: "
            f"{_span(last + 1, head_sequence)} gone",
        )


def _recomputed(statement: SignedStatement, vouched_through: int, id_descent) -> Problem:
    first = id_descent if id_descent is not None else vouched_through + 1
    hint = (
        f"; event #{id_descent} was stored out of insertion order, the likely forgery"
        if id_descent is not None else ""
    )
    return Problem(
        Kind.FORGED, first,
        f"the chain is consistent but does not match the checkpoint signed for "
        f"#{statement.sequence} at {chain.format_time(statement.signed_at)}: events after "
        f"#{vouched_through} were inserted, replaced or re-hashed{hint}",
    )


def _diagnose(org_id, events, row, expected, prev_hash, at_start) -> Problem:
    """Name the kind of the first break (a few extra queries, only on failure)."""
    row_id, sequence, row_prev, row_hash = row[ID], row[SEQUENCE], row[PREV_HASH], row[HASH]
    if sequence > expected:
        return Problem(
            Kind.MISSING, expected,
            f"{_span(expected, sequence - 1)} missing: the chain jumps from "
            f"#{expected - 1} to #{sequence}",
        )
    if sequence < expected:
        return Problem(Kind.FORGED, sequence, f"a second event claims #{sequence}")
    content_ok = _hash_at(org_id, row, sequence) == row_hash

    successor = (
        events.filter(prev_hash=prev_hash).exclude(id=row_id).values_list(*COLUMNS).first()
    )
    if (
        successor is not None
        and successor[SEQUENCE] != sequence
        and _hash_at(org_id, successor, sequence) == successor[HASH]
        and _hash_at(org_id, row, successor[SEQUENCE]) == row_hash
    ):
        low, high = sorted((sequence, successor[SEQUENCE]))
        return Problem(
            Kind.REORDERED, low, f"events #{low} and #{high} are in each other's place"
        )
    if not content_ok and row_prev == prev_hash:
        return Problem(Kind.MODIFIED, sequence, "its fields no longer match its hash")
    if not content_ok:
        original = _original_sequence(events, row_prev)
        if original is not None and original != sequence and (
            _hash_at(org_id, row, original) == row_hash
        ):
            if original < sequence:
                return Problem(
                    Kind.FORGED, original,
                    f"{_span(original, sequence - 1)} inserted: the event now at "
                    f"#{sequence} was #{original}",
                )
            return Problem(
                Kind.MISSING, sequence,
                f"{_span(sequence, original - 1)} deleted and the later events renumbered: "
                f"the event now at #{sequence} was #{original}",
            )
        return Problem(Kind.MODIFIED, sequence, "its fields and its link no longer match")
    if at_start:
        return Problem(
            Kind.FORGED, sequence, "it is not chained to the start of the log it claims"
        )
    return Problem(
        Kind.FORGED, sequence - 1,
        f"event #{sequence - 1} was replaced or its hash recomputed: #{sequence} is chained to "
        "a different predecessor",
    )


def _hash_at(org_id: int, row, sequence: int) -> str:
    values = (sequence, *row[SEQUENCE + 1:PREV_HASH])
    return chain.hash_body(row[PREV_HASH], chain.canonical_event(org_id, values))


def _original_sequence(events, prev_hash: str) -> int | None:
    if prev_hash == chain.GENESIS_HASH:
        return 1
    before = events.filter(hash=prev_hash).values_list("sequence", flat=True).first()
    return None if before is None else before + 1


def _span(first: int, last: int) -> str:
    """"event #3 is" or "events #3–#5 are", to start a sentence about them."""
    return f"event #{first} is" if first >= last else f"events #{first}–#{last} are"


# The page's summary and the record of a failed verification.


@dataclass(frozen=True)
class IntegrityStatus:
    state: str  # "verified", "stale", "unverified" or "broken"
    sequence: int | None
    at: datetime | None
    problem: str = ""
    pending: int = 0

    @property
    def is_warning(self) -> bool:
        return self.state in ("stale", "broken")


def _latest_checkpoint(organization):
    return (
        Checkpoint.objects.filter(organization_id=organization.pk)
        .order_by("-sequence")
        .values_list("sequence", "signed_at")
        .first()
    )


def _standing_failure(organization) -> IntegrityFailure | None:
    """The newest recorded failure that no plain checkpoint was signed over since, or None.
    A plain checkpoint after a failure follows a verification of the whole chain
    (checkpointing.py), so it clears it; a retention cut vouches only for the events up to it
    and clears nothing. Failures live in their own table, written only by verification: an
    event that merely says `audit_log.integrity_failed` (anyone able to write events could
    write one) is not a verification result."""
    signed_over = Checkpoint.objects.filter(
        organization_id=organization.pk,
        retention_days__isnull=True,
        signed_at__gte=OuterRef("detected_at"),
    )
    failures = IntegrityFailure.objects.filter(organization_id=organization.pk)
    return failures.exclude(Exists(signed_over)).order_by("-detected_at", "-id").first()


def failure_since_last_checkpoint(organization) -> bool:
    return _standing_failure(organization) is not None


@dataclass(frozen=True)
class IntegrityEvidence:
    """What the summary is made of besides the chain's head: the standing failure, if any,
    and the newest checkpoint. It changes only when a checkpoint is signed or a failure is
    recorded, so the page may keep it (auditlogs/integrity/summary.py)."""

    failure: tuple[int, datetime, str] | None  # sequence, detected at, problem
    checkpoint: tuple[int, datetime] | None  # sequence, signed at


def integrity_evidence(organization) -> IntegrityEvidence:
    failure = _standing_failure(organization)
    return IntegrityEvidence(
        failure=None if failure is None else (failure.sequence, failure.detected_at,
                                              failure.problem),
        checkpoint=_latest_checkpoint(organization),
    )


def summarize(evidence: IntegrityEvidence, head_sequence: int) -> IntegrityStatus:
    """The summary from its evidence and the sequence of the chain's head, as of now."""
    if evidence.failure is not None:
        return IntegrityStatus("broken", *evidence.failure)
    if evidence.checkpoint is None:
        return IntegrityStatus("unverified", None, None)
    sequence, signed_at = evidence.checkpoint
    pending = max(head_sequence - sequence, 0)
    max_age = timedelta(hours=app_settings.CHECKPOINT_MAX_AGE_HOURS)
    state = "stale" if pending and timezone.now() - signed_at > max_age else "verified"
    return IntegrityStatus(state, sequence, signed_at, pending=pending)


def integrity_status(organization) -> IntegrityStatus:
    """What the Audit Logs page says about integrity, from verification results and signed
    checkpoints only: three indexed reads, no verification."""
    return summarize(integrity_evidence(organization), ChainHead.sequence_for(organization.pk))


def record_failure(organization, report: Report) -> bool:
    """Keep a failed verification (what the page's status reads) and put it in the
    organization's own log, once per distinct problem (the next checkpoint can only be signed
    once the chain verifies again)."""
    problem = report.problem
    previous = _standing_failure(organization)
    if previous is not None and (previous.kind, previous.sequence, previous.problem) == (
        str(problem.kind), problem.sequence, str(problem)
    ):
        return False
    IntegrityFailure.objects.create(
        organization_id=organization.pk, kind=str(problem.kind), sequence=problem.sequence,
        problem=str(problem),
    )
    metadata = {"kind": str(problem.kind), "sequence": problem.sequence, "problem": str(problem)}
    record(FAILURE_ACTION, organization=organization, metadata=metadata, actor=Actor.system())
    return True


@dataclass(frozen=True)
class ErasedLog:
    organization_id: int
    slug: str
    problem: Problem

    @property
    def name(self) -> str:
        return self.slug or f"organization {self.organization_id}"


def erased_organizations(existing_ids) -> list[ErasedLog]:
    """Organizations the witness file holds validly signed checkpoints of, that are no longer
    in the database (`existing_ids`): their whole log was erased (a `flush`, a dropped
    table), which no per-organization verification can see."""
    keys = signing.verification_keys()
    existing = set(existing_ids)
    erased = []
    for organization_id, (slug, statements) in sorted(witnessed_organizations().items()):
        valid = [s for s in statements if s.is_valid(keys)]
        if organization_id in existing or not valid:
            continue
        newest = max(valid, key=lambda s: (s.sequence, s.signed_at))
        erased.append(ErasedLog(organization_id, slug, Problem(
            Kind.ERASED, 1,
            f"organization {organization_id} ({slug or 'slug unknown'}) no longer exists, "
            f"but the witness file holds a checkpoint signed at "
            f"{chain.format_time(newest.signed_at)} for its event #{newest.sequence}: its "
            "whole log was erased",
        )))
    return erased

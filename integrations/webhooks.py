"""Delivery of new events and signed checkpoints to webhook destinations: signed, in order,
at least once, in batches.

The events table is the outbox. For each due destination the worker sends the events after its
cursor, oldest first, up to the destination's `batch_size` per POST (one JSON list); a 2xx
answer moves the cursor past them, anything else schedules a retry with exponential backoff.
A crash between sending and saving the cursor sends the batch again (at least once):
receivers deduplicate on the event `id` (or organization and sequence). The signed
checkpoints follow the same way with a cursor of their own, in payloads of their own type
("auditlogs.checkpoints"), so the customer keeps copies the operator cannot rewrite.

Retention removes old events whether or not every destination has them (a legal policy must
not wait on a dead receiver). A batch that starts after such a gap says so in its `gap`
field, with the retention cuts that removed the events, so the loss is never silent.

A pass gives each due destination a turn of up to TURN_SECONDS, batch after batch over one
keep-alive connection, then the next destination its turn; the worker runs passes back to back
while any destination is behind (operations/jobs.py), so a backlog never waits for the next
minute and one slow or failing receiver never holds the others back. Each request has
AUDITLOG_WEBHOOK_TIMEOUT seconds in all, and turns go round the organizations, the least
recently tried destination first, so no organization's receivers can take every run's time.

Signature (documented in docs/integrations.md):
    X-AuditLogs-Timestamp: <unix seconds>
    X-AuditLogs-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
"""

import hashlib
import hmac
import http.client
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Value, Window
from django.db.models.functions import Coalesce, Greatest, RowNumber
from django.urls import reverse
from django.utils import timezone

from auditlogs import record
from auditlogs.conf import app_settings
from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.models import AuditEvent, ChainHead, Checkpoint
from auditlogs.recording.chain import format_time
from auditlogs.recording.changes import mask_url
from auditlogs.recording.context import Actor, acting_as
from auditlogs.storage.backends import backend
from integrations import mailing, postgresql, ssrf
from integrations.claiming import claimed
from integrations.models import DeliveryGap, Destination
from integrations.serializers import FIELDS, export_rows, ndjson_line, to_json
from orgs.models import Plan

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-AuditLogs-Signature"
TIMESTAMP_HEADER = "X-AuditLogs-Timestamp"
DELIVERY_HEADER = "X-AuditLogs-Delivery"
USER_AGENT = "AuditLogs-Webhook/1"
# A destination's turn in a pass: batches follow each other until it has nothing more or this
# many seconds have gone by (a batch that has started is finished); then the next one's turn.
TURN_SECONDS = 2.0
EVENTS_PAYLOAD = "auditlogs.events"
CHECKPOINTS_PAYLOAD = "auditlogs.checkpoints"
# The most of a receiver's answer that is read; a longer one ends the connection.
MAX_ANSWER_BYTES = 65536


class DeliveryFailed(Exception):
    pass


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance=300) -> bool:
    """What a receiver does (see the docs): recompute, compare in constant time, check age."""
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class _Batch:
    """What one POST carries: (cursor after it, item as JSON text), oldest first, and for
    events the gap before them, if there is one."""

    items: list[tuple[int, str]]
    gap: DeliveryGap | None = None

    @property
    def cursor(self) -> int:
        return self.items[-1][0]


@dataclass(frozen=True)
class _Outbox:
    """One kind of thing a destination receives, with its own cursor."""

    payload_type: str
    items_key: str
    pending: Callable  # (destination) -> its next _Batch
    cursor_method: str  # Destination's method that moves this cursor: (cursor, now)


_SEQUENCE = FIELDS.index("sequence")


def _pending_events(destination: Destination) -> _Batch:
    """The next batch in the JSON shape of the export and the API, read with one query. An
    event the sequencer has not linked yet (no sequence) is never among them.

    The chain is gapless, so the next batch is exactly the next `batch_size` sequences:
    bounding the range keeps the read to one batch whatever the planner believes of a fresh
    partition (without it, stale statistics sorted the whole backlog for every batch). Only
    where retention removed events this destination never received is that range empty; the
    events after the gap come then, and the batch names the gap."""
    organization_id, after, size = (
        destination.organization_id, destination.cursor, destination.batch_size
    )
    lines = _event_lines(organization_id, after, after + size, size) or _event_lines(
        organization_id, after, _NO_END, size
    )
    if not lines:
        return _Batch(lines)
    return _Batch(_up_to_a_hole(lines), destination.gap_before(lines[0][0]))


def _up_to_a_hole(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The lines up to a missing sequence, if one is missing: retention only ever removes
    the oldest events, so a hole inside a batch was made otherwise, and the next batch, which
    starts after it, names it as a gap instead of passing over it in silence."""
    for index in range(1, len(lines)):
        if lines[index][0] != lines[index - 1][0] + 1:
            return lines[:index]
    return lines


_NO_END = 2**63 - 1  # the largest sequence a bigint holds


def _event_lines(organization_id: int, after: int, through: int, size: int) -> list:
    if backend().exports_by_copy:  # the database writes the JSON, as for an NDJSON export
        return postgresql.event_lines(organization_id, after, through, size)
    events = AuditEvent.objects.filter(
        organization_id=organization_id, sequence__gt=after, sequence__lte=through
    ).order_by("sequence")
    return [(row[_SEQUENCE], ndjson_line(row)[:-1]) for row in export_rows(events)[:size]]


def _pending_checkpoints(destination: Destination) -> _Batch:
    checkpoints = Checkpoint.objects.filter(
        organization_id=destination.organization_id, id__gt=destination.checkpoint_cursor,
    ).order_by("id")[: destination.batch_size]
    return _Batch([(c.pk, to_json(SignedStatement.of(c).as_json())) for c in checkpoints])


EVENTS = _Outbox(EVENTS_PAYLOAD, "events", _pending_events, "delivered")
CHECKPOINTS = _Outbox(
    CHECKPOINTS_PAYLOAD, "checkpoints", _pending_checkpoints, "checkpoints_delivered"
)


def deliver_due(now=None, deadline: float | None = None) -> int:
    """One pass over every due destination, a turn each; the number of events and
    checkpoints delivered. No turn starts after `deadline` (a time.monotonic() value)."""
    now = now or timezone.now()
    delivered = 0
    # Waiting out a backoff or having sent everything costs nothing; `due` is checked again
    # under the row lock.
    new_checkpoints = Checkpoint.objects.filter(
        organization_id=OuterRef("organization_id"), id__gt=OuterRef("checkpoint_cursor")
    )
    due = (
        Destination.objects.due(now)
        .filter(organization__plan=Plan.ENTERPRISE)
        .filter(ChainHead.behind("cursor", "organization_id") | Exists(new_checkpoints))
    )
    for destination_id in _fair_order(due).values_list("id", flat=True):
        if deadline is not None and time.monotonic() >= deadline:
            break
        delivered += deliver_destination(destination_id, now=now, deadline=deadline)
    return delivered


_NEVER = Value(datetime(1970, 1, 1, tzinfo=UTC), output_field=DateTimeField())


def _fair_order(destinations):
    """Turns go round the organizations, and within each to the destination that waited
    longest since its last attempt (a delivery or a failure; never tried comes first).

    A pass may end at the run's deadline before every due destination had its turn, and the
    next pass starts again from the top of this order. Sorted by name, an organization's slow
    receivers named "000…" would take every run; sorted by last attempt alone, a batch of
    new ones would take as many runs as there are of them. This way each organization's first
    turn comes before any organization's second."""
    last_attempt = Greatest(
        Coalesce("last_delivered_at", _NEVER), Coalesce("last_error_at", _NEVER)
    )
    return destinations.alias(
        last_attempt=last_attempt,
        turn_in_organization=Window(
            RowNumber(), partition_by=[F("organization_id")],
            order_by=[last_attempt.asc(), F("id").asc()],
        ),
    ).order_by("turn_in_organization", "last_attempt", "id")


def deliver_destination(destination_id: int, now=None, deadline: float | None = None) -> int:
    """The destination's turn: its pending events, then its pending checkpoints, a batch at a
    time over one connection, while they are accepted, for up to TURN_SECONDS.

    Whatever goes wrong with this destination (its receiver, its URL, its events) is noted on
    it as a failed attempt, with backoff and in time a pause that its admins are told about;
    it never ends the pass for the other destinations."""
    now = now or timezone.now()
    turn_ends = time.monotonic() + TURN_SECONDS
    if deadline is not None:
        turn_ends = min(turn_ends, deadline)
    delivered = 0
    connection = Connection()
    try:
        for outbox in (EVENTS, CHECKPOINTS):
            while sent := _deliver_batch(destination_id, now, outbox, connection):
                delivered += sent
                if time.monotonic() >= turn_ends:
                    break
    except Exception as error:
        if not isinstance(error, DeliveryFailed | ssrf.UnsafeDestination):
            logger.exception("Delivery to destination %s failed", destination_id)
        _note_failure(destination_id, describe(error), now)
    finally:
        connection.close()
    return delivered


def describe(error: Exception) -> str:
    """The failure in words for the admins; the type names an unexpected one."""
    if isinstance(error, DeliveryFailed | ssrf.UnsafeDestination):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _deliver_batch(destination_id: int, now, outbox: _Outbox, connection: "Connection") -> int:
    # Each batch under its own lock and transaction: its cursor is committed as soon as the
    # receiver has accepted it, so a crash re-sends at most one batch.
    with claimed(_destinations(), destination_id) as destination:
        if destination is None or not destination.due(now):
            return 0
        batch = outbox.pending(destination)
        if not batch.items:
            return 0
        connection.post(destination.url, destination.secret, payload(destination, outbox, batch))
        if batch.gap is not None:
            destination.note_gap(batch.gap, now)
        getattr(destination, outbox.cursor_method)(batch.cursor, now)
        return len(batch.items)


def _destinations():
    return Destination.objects.select_related("organization")


def payload(destination: Destination, outbox: _Outbox, batch: _Batch) -> bytes:
    """The body of one POST (docs/integrations.md): the envelope, then the items as one list.
    Each item is already JSON text, so joining is enough. The gap, when there is one, comes
    before the events it precedes; receivers that ignore unknown keys are unaffected."""
    envelope = {"type": outbox.payload_type, "destination": destination.pk,
                "organization": destination.organization.slug}
    if batch.gap is not None:
        envelope["gap"] = gap_json(batch.gap)
    items_json = ",".join(item for _cursor, item in batch.items)
    return f'{to_json(envelope)[:-1]},"{outbox.items_key}":[{items_json}]}}'.encode()


def gap_json(gap: DeliveryGap) -> dict:
    """The gap as receivers read it (docs/integrations.md, "Gaps"): the signed retention cuts
    let them check the claim, and the last cut's `head_hash` is the `prev_hash` of the first
    event after the gap."""
    return {
        "first_sequence": gap.first_sequence,
        "through_sequence": gap.through_sequence,
        "reason": "retention" if gap.by_retention else "unexplained",
        "removed_at": format_time(gap.removed_at) if gap.by_retention else None,
        "retention_cuts": [SignedStatement.of(cut).as_json() for cut in gap.cuts],
    }


def _note_failure(destination_id: int, reason: str, now) -> None:
    """A failed attempt on the destination; at the pause its admins are told (by mail after
    the commit: the pause's record holds the organization's chain lock, which must not wait on
    an SMTP server, nor should a mail announce a pause that rolled back)."""
    try:
        with transaction.atomic(), claimed(_destinations(), destination_id) as destination:
            paused = destination is not None and destination.failed(reason, now)
            if paused:
                _record_pause(destination)
        if paused:
            _mail_pause(destination)
    except Exception:  # even noting the failure failed (the database?): the pass goes on
        logger.exception("Could not note the failure of destination %s", destination_id)


class Connection:
    """One destination's HTTP connection for the length of its turn, kept alive from batch to
    batch. It is opened only to an address that passed the SSRF check just before (a fresh
    DNS lookup), goes to that very address whatever DNS says later, and is opened again,
    checked again, when the destination's URL names another origin or the turn ends.

    Each request (connecting, sending, the whole answer) has AUDITLOG_WEBHOOK_TIMEOUT seconds
    in all: a receiver that answers a byte at a time is cut off then, like a silent one."""

    def __init__(self):
        self._http: http.client.HTTPConnection | None = None
        self._origin: tuple | None = None
        self._deadline = _Deadline()

    def post(self, url: str, secret: str, body: bytes) -> None:
        """POST the signed body to `url`, or DeliveryFailed (UnsafeDestination for the URL)."""
        scheme, host, port, path = ssrf.check_url(url)
        if self._origin != (scheme, host, port):
            self.close()
            address = ssrf.safe_address(host, port)  # again, now, after DNS: no rebinding
            pinned = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
            self._http = pinned(host, port, address, self._deadline)
            self._origin = (scheme, host, port)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            DELIVERY_HEADER: uuid.uuid4().hex,
        }
        timeout = app_settings.WEBHOOK_TIMEOUT
        self._deadline.start(timeout)
        try:
            response = self._exchange(path, body, headers)
        except TimeoutError:
            self.close()
            raise DeliveryFailed(
                f"The receiver at {host} took longer than {timeout} s to answer."
            ) from None
        except (OSError, http.client.HTTPException) as error:
            self.close()
            reason = str(error) or type(error).__name__
            raise DeliveryFailed(f"Could not deliver to {host}: {reason}") from None
        if not 200 <= response.status < 300:
            raise DeliveryFailed(
                f"The receiver answered HTTP {response.status} {response.reason}."
            )

    def _exchange(self, path: str, body: bytes, headers: dict) -> http.client.HTTPResponse:
        reused = self._http.sock is not None
        try:
            response = self._send(path, body, headers)
        except ConnectionError:
            if not reused:
                raise
            # The receiver closed the idle connection as we reused it: once more on a new one
            # (to the same checked address), within the same deadline. At least once, so a
            # repeat is allowed.
            self._http.close()
            response = self._send(path, body, headers)
        response.read(MAX_ANSWER_BYTES)
        if not response.isclosed():  # an answer too long to read: not worth keeping
            self._http.close()
        return response

    def _send(self, path, body, headers) -> http.client.HTTPResponse:
        self._http.request("POST", path, body=body, headers=headers)
        return self._http.getresponse()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self._http, self._origin = None, None


class _Deadline:
    """When the request under way must be over, as a time.monotonic() value."""

    def __init__(self):
        self._at = 0.0

    def start(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def time_left(self) -> float:
        """The seconds left, or TimeoutError when there are none."""
        left = self._at - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left


class _DeadlineBound:
    """A socket whose every read and write may wait only for what is left of the request's
    time. A socket's own timeout bounds one operation, so a receiver sending a byte now and
    then would never reach it; http.client reads and writes through these methods only
    (sendall, and recv_into under makefile()), so setting it before each one bounds them
    all together."""

    deadline: _Deadline

    def _keep_to_deadline(self) -> None:
        self.settimeout(self.deadline.time_left())

    def recv_into(self, *args, **kwargs):
        self._keep_to_deadline()
        return super().recv_into(*args, **kwargs)

    def send(self, *args, **kwargs):  # what an SSL socket's sendall calls for each piece
        self._keep_to_deadline()
        return super().send(*args, **kwargs)

    def sendall(self, *args, **kwargs):
        self._keep_to_deadline()
        return super().sendall(*args, **kwargs)


class _DeadlineSocket(_DeadlineBound, socket.socket):
    pass


class _DeadlineSSLSocket(_DeadlineBound, ssl.SSLSocket):
    pass


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that passed the SSRF check, whatever DNS says by now, within
    the deadline of the request under way."""

    def __init__(self, host, port, address, deadline: _Deadline):
        super().__init__(host, port)
        self._address, self._deadline = address, deadline

    def connect(self):
        sock = _open_tcp(self._address, self.port, self._deadline)
        # The same connection as a socket that keeps to the deadline: it takes over the file
        # descriptor, the plain one is left empty.
        self.sock = _DeadlineSocket(fileno=sock.detach())
        self.sock.deadline = self._deadline


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, deadline: _Deadline):
        context = ssl.create_default_context()
        context.sslsocket_class = _DeadlineSSLSocket
        super().__init__(host, port, context=context)
        self._address, self._deadline = address, deadline

    def connect(self):
        sock = _open_tcp(self._address, self.port, self._deadline)
        # The handshake is one operation, which the socket's timeout bounds as a whole.
        sock.settimeout(self._deadline.time_left())
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        self.sock.deadline = self._deadline


def _open_tcp(address: str, port: int, deadline: _Deadline) -> socket.socket:
    sock = socket.create_connection((address, port), deadline.time_left())
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _record_pause(destination: Destination) -> None:
    with acting_as(Actor.system("webhook delivery")):
        record(
            "destination.paused",
            organization=destination.organization,
            target=destination,
            metadata={"name": destination.name, "last_error": destination.last_error[:500]},
        )


def _mail_pause(destination: Destination) -> None:
    """Tell the organization's owners and admins that the destination was paused."""
    organization = destination.organization
    link = mailing.absolute_url(reverse("settings_destinations", args=[organization.slug]))
    mailing.tell_managers(
        organization,
        f"[{organization.name}] Log destination “{destination.name}” was paused",
        (
            f"Deliveries of audit events to “{destination.name}” "
            f"({mask_url(destination.url)}) have failed since "
            f"{destination.failing_since:%Y-%m-%d %H:%M} UTC, so it was paused.\n\n"
            f"Last error: {destination.last_error}\n\n"
            f"Once you fix the receiver and resume the destination, it gets every event still "
            f"in the log from where it stopped (event #{destination.cursor + 1}). "
            f"{_retention_meanwhile(organization)}\n\n{link}\n"
        ),
    )
    logger.warning("Paused destination %s: %s", destination.pk, destination.last_error)


def _retention_meanwhile(organization) -> str:
    """What a pause cannot hold back: retention is a policy that waits for no receiver."""
    kept = ""
    if organization.audit_retention_days:
        kept = f" (this organization keeps events for {organization.audit_retention_days} days)"
    return (
        f"Events that retention removes meanwhile{kept} can no longer be delivered: the "
        f"receiver is told which ones, as a gap before the next events it gets, and the "
        f"Log destinations page shows it."
    )

"""Delivery of new events and signed checkpoints to webhook destinations: signed, in order,
at least once.

The events table is the outbox. For each due destination the worker sends the events after its
cursor, oldest first, in batches; a 2xx answer moves the cursor past them, anything else
schedules a retry with exponential backoff. A crash between sending and saving the cursor
sends the batch again (at least once): receivers deduplicate on the event `id`. The signed
checkpoints follow the same way with a cursor of their own, in payloads of their own type
("auditlogs.checkpoints"), so the customer keeps copies the operator cannot rewrite.

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

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from auditlogs import record
from auditlogs.conf import app_settings
from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.models import AuditEvent, ChainHead, Checkpoint
from auditlogs.recording.context import Actor, acting_as
from integrations import mailing, ssrf
from integrations.claiming import claimed
from integrations.models import Destination
from integrations.serializers import event_dict, event_rows, to_json
from orgs.models import Plan

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-AuditLogs-Signature"
TIMESTAMP_HEADER = "X-AuditLogs-Timestamp"
DELIVERY_HEADER = "X-AuditLogs-Delivery"
USER_AGENT = "AuditLogs-Webhook/1"
MAX_BATCHES_PER_PASS = 20
EVENTS_PAYLOAD = "auditlogs.events"
CHECKPOINTS_PAYLOAD = "auditlogs.checkpoints"


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
class _Outbox:
    """One kind of thing a destination receives, with its own cursor."""

    payload_type: str
    items_key: str
    pending: Callable  # (destination) -> [(cursor after it, item)], oldest first, one batch
    cursor_method: str  # Destination's method that moves this cursor: (cursor, now)


def _pending_events(destination: Destination) -> list[tuple[int, dict]]:
    rows = event_rows(
        AuditEvent.objects.filter(
            organization_id=destination.organization_id, sequence__gt=destination.cursor,
        ).order_by("sequence")
    )[: app_settings.WEBHOOK_BATCH_SIZE]
    return [(event["sequence"], event) for event in map(event_dict, rows)]


def _pending_checkpoints(destination: Destination) -> list[tuple[int, dict]]:
    checkpoints = Checkpoint.objects.filter(
        organization_id=destination.organization_id, id__gt=destination.checkpoint_cursor,
    ).order_by("id")[: app_settings.WEBHOOK_BATCH_SIZE]
    return [(c.pk, SignedStatement.of(c).as_json()) for c in checkpoints]


EVENTS = _Outbox(EVENTS_PAYLOAD, "events", _pending_events, "delivered")
CHECKPOINTS = _Outbox(
    CHECKPOINTS_PAYLOAD, "checkpoints", _pending_checkpoints, "checkpoints_delivered"
)


def deliver_due(now=None) -> int:
    """One pass over every due destination; the number of events and checkpoints delivered."""
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
    for destination_id in due.values_list("id", flat=True):
        delivered += deliver_destination(destination_id, now=now)
    return delivered


def deliver_destination(destination_id: int, now=None) -> int:
    """Send the destination's pending events, then its pending checkpoints, a batch at a
    time, while they are accepted.

    Whatever goes wrong with this destination (its receiver, its URL, its events) is noted on
    it as a failed attempt, with backoff and in time a pause that its admins are told about;
    it never ends the pass for the other destinations."""
    now = now or timezone.now()
    delivered = 0
    try:
        for outbox in (EVENTS, CHECKPOINTS):
            for _ in range(MAX_BATCHES_PER_PASS):
                sent = _deliver_batch(destination_id, now, outbox)
                if not sent:
                    break
                delivered += sent
    except Exception as error:
        if not isinstance(error, DeliveryFailed | ssrf.UnsafeDestination):
            logger.exception("Delivery to destination %s failed", destination_id)
        _note_failure(destination_id, describe(error), now)
    return delivered


def describe(error: Exception) -> str:
    """The failure in words for the admins; the type names an unexpected one."""
    if isinstance(error, DeliveryFailed | ssrf.UnsafeDestination):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _deliver_batch(destination_id: int, now, outbox: _Outbox) -> int:
    # Each batch under its own lock and transaction: its cursor is committed as soon as the
    # receiver has accepted it, so a crash re-sends at most one batch.
    with claimed(_destinations(), destination_id) as destination:
        if destination is None or not destination.due(now):
            return 0
        batch = outbox.pending(destination)
        if not batch:
            return 0
        items = [item for _cursor, item in batch]
        post(destination, items, outbox.payload_type, outbox.items_key)
        getattr(destination, outbox.cursor_method)(batch[-1][0], now)
        return len(items)


def _destinations():
    return Destination.objects.select_related("organization")


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


def post(destination: Destination, items: list[dict], payload_type: str, items_key: str) -> None:
    body = to_json(
        {"type": payload_type, "destination": destination.pk,
         "organization": destination.organization.slug, items_key: items}
    ).encode()
    timestamp = str(int(time.time()))
    scheme, host, port, path = ssrf.check_url(destination.url)
    address = ssrf.safe_address(host, port)  # again, now, after DNS: no rebinding
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(destination.secret, timestamp, body),
        DELIVERY_HEADER: uuid.uuid4().hex,
    }
    timeout = app_settings.WEBHOOK_TIMEOUT
    if scheme == "https":
        conn = _PinnedHTTPSConnection(host, port, address, timeout)
    else:
        conn = _PinnedHTTPConnection(host, port, address, timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
    except (OSError, http.client.HTTPException) as error:
        reason = str(error) or type(error).__name__
        raise DeliveryFailed(f"Could not deliver to {host}: {reason}") from None
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        raise DeliveryFailed(f"The receiver answered HTTP {response.status} {response.reason}.")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that passed the SSRF check, whatever DNS says by now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


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
            f"Deliveries of audit events to “{destination.name}” ({destination.url}) have "
            f"failed since {destination.failing_since:%Y-%m-%d %H:%M} UTC, so it was paused.\n\n"
            f"Last error: {destination.last_error}\n\n"
            f"No event is lost: once you fix the receiver and resume the destination, it gets "
            f"every event from where it stopped.\n\n{link}\n"
        ),
    )
    logger.warning("Paused destination %s: %s", destination.pk, destination.last_error)

"""Ways to get events out of the log: API tokens, webhook destinations and e-mail alerts.

Delivery state lives on the rows themselves: the events table is the outbox, and each
destination (and each alert subscription) keeps a cursor, the organization sequence number of
the last event it has handled. Sequences are committed in order per organization (writers
serialize on the chain head), so "sequence > cursor" never skips a committed event.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from auditlogs.conf import app_settings
from auditlogs.models import AuditEvent, Checkpoint

TOKEN_PREFIX = "alk_"
# Events (or checkpoints) per POST to a destination. At most 1,000: what common collectors
# accept in one request (Datadog's log intake, for one, takes up to 1,000 entries).
DEFAULT_BATCH_SIZE = 100
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 1, 1000


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def authenticate(self, raw: str) -> "ApiToken | None":
        """The usable token whose secret is `raw`, with its organization; None otherwise."""
        if not raw or len(raw) > 200:
            return None
        tokens = self.usable().select_related("organization")
        return tokens.filter(token_hash=hash_token(raw)).first()


class ApiToken(models.Model):
    """An organization's read-only key to the Audit Logs API; only its SHA-256 is stored."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognize it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_secret() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def note_use(self) -> None:
        """Last-used time to the minute: one write a minute per token, not one per request."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class DeliveryStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    FAILING = "failing", "Failing, retrying"
    PAUSED = "paused", "Paused"


class DeliveryQuerySet(models.QuerySet):
    def due(self, now):
        """Neither paused nor waiting out a backoff (`Delivery.due` says the same of one)."""
        return self.exclude(status=DeliveryStatus.PAUSED).filter(
            models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now)
        )


class Delivery(models.Model):
    """Where the worker sends things (a webhook, a person's alert mails) and how that has been
    going: failures back off exponentially and pause the receiver after
    AUDITLOG_WEBHOOK_PAUSE_AFTER seconds of failing, so one broken receiver costs the worker
    one attempt per backoff and never stops the others."""

    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.ACTIVE
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(
        default=0, help_text="Consecutive failed attempts since the last success."
    )
    failing_since = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_paused(self) -> bool:
        return self.status == DeliveryStatus.PAUSED

    def due(self, now) -> bool:
        return not self.is_paused and (self.next_attempt_at is None or self.next_attempt_at <= now)

    def _healthy(self) -> list[str]:
        """Back to active after a success or a resume; the names of the fields it set."""
        self.status = DeliveryStatus.ACTIVE
        self.paused_at = None
        self.failed_attempts = 0
        self.failing_since = None
        self.next_attempt_at = None
        return ["status", "paused_at", "failed_attempts", "failing_since", "next_attempt_at"]

    def succeeded(self) -> None:
        if self.status != DeliveryStatus.ACTIVE or self.failed_attempts:
            self.save(update_fields=self._healthy())

    def resume(self) -> list[str]:
        """Resuming starts afresh: retry now, and the failure clock restarts. The caller saves."""
        return self._healthy()

    def failed(self, error: str, now) -> bool:
        """Note a failed attempt and schedule the next one; True when this pauses it."""
        self.failed_attempts += 1
        self.failing_since = self.failing_since or now
        self.last_error = error[:2000]
        self.last_error_at = now
        delay = min(
            app_settings.WEBHOOK_BACKOFF_BASE * 2 ** min(self.failed_attempts - 1, 30),
            app_settings.WEBHOOK_BACKOFF_MAX,
        )
        self.next_attempt_at = now + timedelta(seconds=delay)
        pausing = (now - self.failing_since).total_seconds() >= (
            app_settings.WEBHOOK_PAUSE_AFTER
        )
        self.status = DeliveryStatus.PAUSED if pausing else DeliveryStatus.FAILING
        if pausing:
            self.paused_at = now
        self.save(
            update_fields=[
                "failed_attempts", "failing_since", "last_error", "last_error_at",
                "next_attempt_at", "status", "paused_at",
            ]
        )
        return pausing


@dataclass(frozen=True)
class DeliveryGap:
    """Events #first–#through that a destination never received: they were gone from the log
    before its cursor got there. Retention does that, and must not wait for a dead receiver;
    the receiver and the admins are told instead (docs/integrations.md, "Gaps").

    `removed_at` is when retention removed the last of them, None when no retention cut
    accounts for them; `cuts` are those retention cuts, oldest first (for the receiver, who
    can check them); `reported_at` is when the receiver accepted the notice (None: not yet)."""

    first_sequence: int
    through_sequence: int
    removed_at: datetime | None
    cuts: tuple[Checkpoint, ...] = ()
    reported_at: datetime | None = None

    @property
    def by_retention(self) -> bool:
        return self.removed_at is not None

    @property
    def count(self) -> int:
        return self.through_sequence - self.first_sequence + 1

    @property
    def events(self) -> str:
        """The removed events in words: "events #6–#10", or "event #6" alone."""
        if self.first_sequence == self.through_sequence:
            return f"event #{self.first_sequence}"
        return f"events #{self.first_sequence}–#{self.through_sequence}"


class Destination(Delivery):
    """A customer's webhook (their SIEM) that receives every new event of the organization."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="log_destinations"
    )
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=2000)
    # Kept in clear: the worker needs it to sign each delivery (HMAC-SHA256).
    secret = models.CharField(max_length=200)
    cursor = models.BigIntegerField(
        default=0, help_text="Sequence of the last event delivered (the organization's chain)."
    )
    batch_size = models.PositiveIntegerField(
        default=DEFAULT_BATCH_SIZE,
        validators=[MinValueValidator(MIN_BATCH_SIZE), MaxValueValidator(MAX_BATCH_SIZE)],
        help_text="The most events (or checkpoints) sent in one POST.",
    )
    checkpoint_cursor = models.BigIntegerField(
        default=0, help_text="Id of the last signed checkpoint delivered (all are sent, oldest "
        "first, so the receiver keeps its own copy of every one).",
    )
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    # The latest gap told to the receiver (DeliveryGap), kept for the admins' page.
    gap_first_sequence = models.BigIntegerField(null=True, blank=True)
    gap_through_sequence = models.BigIntegerField(null=True, blank=True)
    gap_removed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When retention removed them; empty when no retention cut accounts for them.",
    )
    gap_reported_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @staticmethod
    def new_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)

    def delivered(self, sequence: int, now) -> None:
        """The receiver accepted the events through `sequence`, and the gap before them if
        the batch told it of one (note_gap): one UPDATE for both."""
        self.cursor = sequence
        self._succeeded(now, "cursor", *GAP_FIELDS)

    def checkpoints_delivered(self, checkpoint_id: int, now) -> None:
        self.checkpoint_cursor = checkpoint_id
        self._succeeded(now, "checkpoint_cursor")

    def _succeeded(self, now, cursor_field: str, *more_fields: str) -> None:
        self.last_delivered_at = now
        self.save(
            update_fields=[cursor_field, "last_delivered_at", *self._healthy(), *more_fields]
        )

    def gap_before(self, sequence: int) -> DeliveryGap | None:
        """The events between the cursor and `sequence`, the next one the log still has.

        The chain has no holes, so any there are were removed; only a retention cut through
        the last of them (which removed every event up to it) says retention did it."""
        first, through = self.cursor + 1, sequence - 1
        if through < first:
            return None
        cuts = tuple(Checkpoint.objects.filter(
            organization_id=self.organization_id, retention_days__isnull=False,
            sequence__gte=first, sequence__lte=through,
        ).order_by("sequence"))
        by_retention = bool(cuts) and cuts[-1].sequence == through
        return DeliveryGap(first, through, cuts[-1].signed_at if by_retention else None, cuts)

    @staticmethod
    def next_sequence_in_log():
        """For `annotate(next_sequence=...)`: the first sequence the log still has after a
        destination's cursor (None when it is up to date), read with the destinations, not
        once per row."""
        return models.Subquery(
            AuditEvent.objects.filter(
                organization_id=models.OuterRef("organization_id"),
                sequence__gt=models.OuterRef("cursor"),
            ).order_by("sequence").values("sequence")[:1]
        )

    @cached_property
    def pending_gap(self) -> DeliveryGap | None:
        """The gap the next delivery will tell the receiver about, if any (on a destination
        annotated with `next_sequence_in_log`; queried only where there is one)."""
        if self.next_sequence is None or self.next_sequence == self.cursor + 1:
            return None
        return self.gap_before(self.next_sequence)

    @property
    def reported_gap(self) -> DeliveryGap | None:
        if self.gap_first_sequence is None:
            return None
        return DeliveryGap(
            self.gap_first_sequence, self.gap_through_sequence, self.gap_removed_at,
            reported_at=self.gap_reported_at,
        )

    def note_gap(self, gap: DeliveryGap, now) -> None:
        """The batch the receiver accepted told it of `gap` (saved by `delivered`)."""
        self.gap_first_sequence, self.gap_through_sequence = (
            gap.first_sequence, gap.through_sequence
        )
        self.gap_removed_at, self.gap_reported_at = gap.removed_at, now


# The latest gap told to a destination's receiver (Destination.note_gap).
GAP_FIELDS = ("gap_first_sequence", "gap_through_sequence", "gap_removed_at", "gap_reported_at")


class AlertSubscription(Delivery):
    """A member's choice to be e-mailed about the Critical events they may see."""

    membership = models.OneToOneField(
        "orgs.Membership", on_delete=models.CASCADE, related_name="alert_subscription"
    )
    critical_events = models.BooleanField(default=False)
    cursor = models.BigIntegerField(
        default=0, help_text="Sequence of the last event considered for this person's alerts."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Alerts for {self.membership}"

"""The audit event: an immutable, chained record of one notable thing that happened."""

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from auditlogs.recording.catalogue import Severity, label_for
from auditlogs.recording.context import ActorType


class ImmutableEventError(Exception):
    """Audit events are append-only: they are never changed or deleted through the app."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableEventError("Audit events cannot be changed.")

    def delete(self):
        raise ImmutableEventError("Audit events cannot be deleted.")

    def newest_first(self):
        return self.order_by("-occurred_at", "-id")

    def linked(self):
        """Events the sequencer has placed in the chain: what everything that reads the chain
        (verifier, exports, API, webhooks, checkpoints) sees. The page lists every event."""
        return self.filter(sequence__isnull=False)

    def unlinked(self):
        """Committed events waiting for the sequencer (read through the partial index
        `audit_event_unlinked` when filtered by organization)."""
        return self.filter(sequence__isnull=True)


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    # No index of its own: every index of the log leads with the organization already. No
    # database constraint either: writers take the organization from a loaded Organization,
    # and the sequencer links it under the organization's ChainHead, whose own foreign key
    # proves the organization exists, so a per-row check would only repeat it (and it halved
    # bulk COPY). Deleting an organization with events is still refused (PROTECT, by Django),
    # and rows cannot be deleted at all (guards.py).
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )
    # The place in the chain: NULL (with both hashes) from record() until the sequencer links
    # the committed event (recording/sequencer.py); the triggers allow that one UPDATE only.
    sequence = models.BigIntegerField(
        null=True, blank=True,
        help_text="Position in the organization's chain, from 1 (empty until linked).",
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=64)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)

    # Ids without database constraints plus the names at the time: deleting a project or a
    # person changes nothing in the log.
    project_id = models.BigIntegerField(null=True, blank=True)
    project_name = models.CharField(max_length=100, blank=True)
    actor_type = models.CharField(max_length=10, choices=ActorType.CHOICES)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)

    changes = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    # NULL, not "": unlinked, which the triggers and the partial index tell apart.
    prev_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # An index, not a unique key, on every database: PostgreSQL cannot make it unique
            # on the month-partitioned table without occurred_at. The ChainHead row lock (and
            # optimistic guards) of every linker keep sequences unique; the chain verifier
            # reports a duplicate.
            models.Index(fields=["organization", "sequence"], name="audit_event_sequence_per_org"),
            # The sequencer's queue: each organization's unlinked events, oldest id first. Tiny
            # (rows leave it when linked).
            models.Index(
                fields=["organization", "id"], name="audit_event_unlinked",
                condition=models.Q(sequence__isnull=True),
            ),
        ] + [
            # Every list query leads with the organization and reads newest first.
            models.Index(fields=[*lead, "-occurred_at", "-id"], name=name)
            for name, lead in [
                ("audit_org_time", ["organization"]),
                ("audit_org_sev_time", ["organization", "severity"]),
                ("audit_org_proj_time", ["organization", "project_id"]),
                ("audit_org_proj_sev_time", ["organization", "project_id", "severity"]),
                ("audit_org_action_time", ["organization", "action"]),
                # Operators find events by exact identifiers (auditlogs/web/operators.py).
                ("audit_org_request_time", ["organization", "request_id"]),
                ("audit_org_ip_time", ["organization", "ip"]),
                ("audit_org_target_time", ["organization", "target_id"]),
            ]
        ]
        # No index of the actor's own: the Actor filter matches part of the label, as search
        # does, through the trigram indexes (storage/search.py).

    def __str__(self):
        place = "unlinked" if self.sequence is None else f"#{self.sequence}"
        return f"{place} {self.action} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableEventError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEventError("Audit events cannot be deleted.")

    @property
    def is_linked(self) -> bool:
        """Whether the sequencer has given the event its place in the chain yet."""
        return self.sequence is not None

    @property
    def label(self) -> str:
        return label_for(self.action)

    @property
    def severity_enum(self) -> Severity:
        return Severity(self.severity)


class ChainHead(models.Model):
    """The newest link of each organization's chain; its row lock serializes the linkers
    (recording/sequencer.py, and the bulk paths), never record()."""

    organization = models.OneToOneField(
        "orgs.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    # Where linkers start reading the organization's queue of unlinked events: every id
    # below it was read and linked, except a straggler's (an event whose id was drawn before
    # and committed after a link passed that id). Without it each link would read past every
    # already-linked entry of the partial index that VACUUM has not removed yet, a cost that
    # grows with the write rate and with any long-running transaction. Stragglers are linked
    # by their own after-commit linker (which reads from its event's id) or by the sweep
    # (which reads the whole queue). See recording/sequencer.py.
    scan_from = models.BigIntegerField(default=0)

    # What a linker changes when it moves the head.
    MOVING_FIELDS = ("sequence", "hash", "scan_from")

    def __str__(self):
        return f"chain head #{self.sequence} of organization {self.organization_id}"

    @classmethod
    def sequence_for(cls, organization_id: int) -> int:
        """The sequence of the organization's newest linked event (0 before the first)."""
        heads = cls.objects.filter(organization_id=organization_id)
        return heads.values_list("sequence", flat=True).first() or 0

    @classmethod
    def behind(cls, cursor_field: str, organization_field: str) -> models.Q:
        """Rows (a destination, a subscription) whose cursor has not reached their
        organization's newest event: the ones a worker pass has anything to do for."""
        head = cls.objects.filter(organization_id=OuterRef(organization_field))
        return models.Q(**{f"{cursor_field}__lt": Subquery(head.values("sequence")[:1])})


class SupportAccessQuerySet(models.QuerySet):
    def open_to(self, user, org_slug: str):
        """`user`'s accesses to the organization `org_slug` that have not expired, the one
        lasting longest first, with their organization."""
        return (
            self.filter(user=user, organization__slug=org_slug, expires_at__gt=timezone.now())
            .select_related("organization")
            .order_by("-expires_at")
        )


class SupportAccess(models.Model):
    """Support staff's time-limited, reasoned, read-only access to one organization's log."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_accesses"
    )
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="support_accesses"
    )
    reason = models.TextField()
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    objects = SupportAccessQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        verbose_name_plural = "support accesses"

    def __str__(self):
        return f"{self.user} → {self.organization} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()


class Checkpoint(models.Model):
    """A signed statement that an organization's chain had `head_hash` at `sequence`.

    The signature is made with a key that is not in the database
    (auditlogs/integrity/signing.py), so a cut tail or a chain recomputed by someone with
    database access no longer matches it.
    Checkpoints are append-only like events. See docs/integrity.md for the signed bytes.
    """

    # No index of its own: the (organization, sequence) key below leads with it.
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    sequence = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)
    # A retention cut (both set) also states that the events through `sequence` were removed,
    # under which policy: the only statement that lets a log start after event #1.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    retention_cutoff = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sequence"], name="audit_checkpoint_per_sequence",
                condition=models.Q(retention_days__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["organization", "sequence"], name="audit_retention_cut_per_sequence",
                condition=models.Q(retention_days__isnull=False),
            ),
        ]

    def __str__(self):
        kind = "retention cut" if self.is_retention_cut else "checkpoint"
        return f"{kind} #{self.sequence} of organization {self.organization_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableEventError("Checkpoints cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEventError("Checkpoints cannot be deleted.")

    @property
    def is_retention_cut(self) -> bool:
        return self.retention_days is not None


class IntegrityJob(models.Model):
    """An operator's request that the worker verify an organization's chain or sign a
    checkpoint, and its result (auditlogs/integrity/jobs.py runs it)."""

    class Kind(models.TextChoices):
        VERIFY = "verify", "Verify the chain"
        CHECKPOINT = "checkpoint", "Sign a checkpoint"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the worker"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="integrity_jobs"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The operator as an id and the e-mail at the time, like an event's actor.
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    requested_by_label = models.CharField(max_length=254)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)
    sequence = models.BigIntegerField(
        null=True, blank=True, help_text="Verified through, or the checkpoint signed at."
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["status", "requested_at"], name="integrity_job_queue"),
            models.Index(fields=["organization", "-requested_at"], name="integrity_job_org"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for organization {self.organization_id} ({self.status})"


class DeletionGrant(models.Model):
    """The switch the append-only triggers honour: while a row here says so, inside the one
    transaction that inserted it, events of `organization_id` up to `through_sequence` may be
    deleted (retention). A row with no organization allows erasing the whole table (the
    `flush` command, used by tests). Unmanaged, so `flush` itself never empties it."""

    id = models.BigAutoField(primary_key=True)
    organization_id = models.BigIntegerField(null=True)
    through_sequence = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "auditlogs_deletion_grant"

    def __str__(self):
        return f"deletion grant: organization {self.organization_id} to #{self.through_sequence}"


class IntegrityFailure(models.Model):
    """A verification that failed: what the page's integrity status reads (never event
    actions, which anyone able to write events could imitate). The same failure is also
    recorded in the organization's own log as `audit_log.integrity_failed`."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    detected_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=40)
    sequence = models.BigIntegerField()
    problem = models.TextField()

    class Meta:
        ordering = ["organization", "-detected_at"]
        indexes = [
            models.Index(fields=["organization", "-detected_at"], name="integrity_failure_newest"),
        ]

    def __str__(self):
        return f"{self.kind} at #{self.sequence} of organization {self.organization_id}"


class RollupGrouping(models.IntegerChoices):
    """What an EventRollup row counts by, besides its hour and severity: each pass writes every
    grouping, so the chart reads the coarsest one its filters allow (90 days of an unfiltered
    chart: 3 rows an hour, not one per project and action)."""

    FULL = 0, "project and action"
    PROJECT = 1, "project"
    ACTION = 2, "action"
    SEVERITY = 3, "severity only"


class EventRollup(models.Model):
    """How many events of an organization fell in one hour, by severity and, depending on the
    grouping, project and action: what the page's volume chart reads instead of counting events
    (auditlogs/storage/rollups.py).

    Written only by the roll-up pass, which follows RollupCursor along the chain in batches:
    writers of events never touch it."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: the keys below lead with it.
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    grouping = models.PositiveSmallIntegerField(choices=RollupGrouping.choices)
    hour = models.DateTimeField(help_text="The start of the hour (UTC).")
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    # The event's project (None: an organization-level event), or None in the groupings
    # without projects.
    project_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64, help_text="Empty in the groupings without actions.")
    count = models.BigIntegerField()

    class Meta:
        indexes = [
            # The chart's reads: a grouping, then the project or action asked for, then hours;
            # on PostgreSQL the count rides in the index, so 90 days are read without touching
            # the table (SQLite has no such columns: settings.SILENCED_SYSTEM_CHECKS).
            # One row per key: only the pass that holds the organization's RollupCursor writes.
            models.Index(
                fields=["organization", "grouping", "project_id", "action", "hour", "severity"],
                include=["count"],
                name="audit_rollup_read",
            ),
            # The pass's: the rows of the hours a batch touches.
            models.Index(fields=["organization", "hour"], name="audit_rollup_hour"),
        ]

    def __str__(self):
        return f"{self.count} × {self.action or 'any event'} at {self.hour:%Y-%m-%d %H:00}"


class RollupCursor(models.Model):
    """The sequence up to which an organization's events are counted in EventRollup."""

    organization = models.OneToOneField(
        "orgs.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    sequence = models.BigIntegerField(default=0)

    def __str__(self):
        return f"rolled up to #{self.sequence} in organization {self.organization_id}"


class SavedViewQuerySet(models.QuerySet):
    def visible_to(self, user, organization):
        """A person's own views of the organization's log and the ones shared with it."""
        return self.filter(organization=organization).filter(
            models.Q(owner=user) | models.Q(shared=True)
        )


class SavedView(models.Model):
    """A named view of the log: the filters of the page's URL, kept by a person, and shared
    with the whole organization when an admin chooses to."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="saved_log_views"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_log_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True, help_text="The page's query string.")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "owner"], name="saved_view_org_owner")]

    def __str__(self):
        return self.name

    @property
    def log_url(self) -> str:
        """The Audit Logs page with this view's filters."""
        url = reverse("audit_log", args=[self.organization.slug])
        return f"{url}?{self.query}" if self.query else url

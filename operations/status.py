"""What the worker and the data look like right now: read by /readyz and /metrics alike."""

from dataclasses import dataclass

from django.db.models import F, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from auditlogs.models import AuditEvent, ChainHead, Checkpoint
from auditlogs.storage import partitions
from integrations.models import DeliveryStatus, Destination
from operations.models import JobRun
from orgs.models import Plan

SIGN_CHECKPOINTS = "sign-checkpoints"  # the job whose result says how verification went


@dataclass(frozen=True)
class DeliveryLag:
    destination_id: int
    status: str
    events: int
    seconds: float  # age of the oldest event not yet delivered; 0 when none is waiting


def events_recorded() -> int:
    return ChainHead.objects.aggregate(total=Sum("sequence"))["total"] or 0


def _first_after(organization_field: str, sequence_field: str):
    """The time of the event right after `sequence_field` in the outer row's organization."""
    return Subquery(
        AuditEvent.objects.filter(
            organization_id=OuterRef(organization_field), sequence=OuterRef(sequence_field) + 1
        ).values("occurred_at")[:1]
    )


def delivery_lags(now=None) -> list[DeliveryLag]:
    """Every destination the worker serves (Enterprise organizations), paused ones too."""
    now = now or timezone.now()
    head = ChainHead.objects.filter(organization_id=OuterRef("organization_id"))
    destinations = (
        Destination.objects.filter(organization__plan=Plan.ENTERPRISE)
        .annotate(head=Coalesce(Subquery(head.values("sequence")[:1]), 0))
        .annotate(oldest=_first_after("organization_id", "cursor"))
        .order_by("id")
        .values("id", "status", "cursor", "head", "oldest")
    )
    return [
        DeliveryLag(
            destination_id=row["id"],
            status=row["status"],
            events=max(row["head"] - row["cursor"], 0),
            seconds=(now - row["oldest"]).total_seconds()
            if row["head"] > row["cursor"] and row["oldest"]
            else 0.0,
        )
        for row in destinations
    ]


def worker_is_behind(lag: DeliveryLag, threshold_seconds: int) -> bool:
    """Lag that says the worker is behind, not that a customer's receiver is down: a failing
    or paused destination waits for its receiver, and must not take the servers out."""
    return lag.status == DeliveryStatus.ACTIVE and lag.seconds > threshold_seconds


def newest_checkpoint_age(now=None) -> float | None:
    newest = Checkpoint.objects.aggregate(newest=Max("signed_at"))["newest"]
    return None if newest is None else ((now or timezone.now()) - newest).total_seconds()


def oldest_unsigned_event_age(now=None) -> float | None:
    """How long the oldest event that no checkpoint vouches for has waited; None if none."""
    newest_signed = Checkpoint.objects.filter(
        organization_id=OuterRef("organization_id")
    ).order_by("-sequence").values("sequence")[:1]
    oldest = (
        ChainHead.objects.annotate(signed=Coalesce(Subquery(newest_signed), 0))
        .filter(sequence__gt=F("signed"))
        .annotate(first_unsigned=_first_after("organization_id", "signed"))
        .aggregate(oldest=Min("first_unsigned"))["oldest"]
    )
    return None if oldest is None else ((now or timezone.now()) - oldest).total_seconds()


def partition_months_ahead() -> int | None:
    """Whole months after this one that already have a partition (PostgreSQL); None where
    the table is not partitioned."""
    if not partitions.is_partitioned():
        return None
    this_month = partitions.month_start(timezone.now())
    months = set(partitions.month_partitions())
    ahead = 0
    while partitions.add_months(this_month, ahead + 1) in months:
        ahead += 1
    return ahead


def partition_months_in_default() -> list[str]:
    """The months whose events sit in the default partition (PostgreSQL), "YYYY-MM"."""
    return [f"{month:%Y-%m}" for month in partitions.months_in_default()]


def job_runs() -> list[JobRun]:
    return list(JobRun.objects.all())


def heartbeat_age(now=None) -> float | None:
    """Seconds since the worker last finished any job; None if it never has."""
    last = JobRun.objects.aggregate(last=Max("finished_at"))["last"]
    return None if last is None else ((now or timezone.now()) - last).total_seconds()


def verification_results() -> dict[str, int]:
    run = JobRun.objects.filter(name=SIGN_CHECKPOINTS).first()
    result = run.result if run is not None else {}
    return {"verified": result.get("verified", 0), "broken": result.get("broken", 0)}

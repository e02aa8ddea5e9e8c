"""The worker's jobs. `manage.py qcluster` (django-q2) runs each on its schedule
(operations/schedule.py); `manage.py run_job NAME` runs one now.

Every job is safe to run twice at once and to be cut off anywhere: its progress is in the
database (cursors, checkpoints, partitions), and the rows it works on are claimed under a lock
(integrations/claiming.py), so several workers share the work without sending anything twice
beyond the at-least-once a receiver deduplicates. A job that falls behind works through the
backlog in one run, pass after pass, without waiting for the next tick.
"""

import logging
import time
import uuid
from collections.abc import Callable

from django.utils import timezone

from auditlogs.conf import app_settings
from auditlogs.integrity import jobs as integrity_requests
from auditlogs.integrity import retention
from auditlogs.integrity.checkpointing import IntegrityBroken, checkpoint
from auditlogs.integrity.verification import record_failure
from auditlogs.recording import sequencer
from auditlogs.recording.context import Actor, AuditContext, using_context
from auditlogs.storage import partitions, rollups
from auditlogs.storage.backends import backend
from integrations import alerts, webhooks
from operations import logs
from operations.models import JobRun
from operations.status import SIGN_CHECKPOINTS
from orgs.models import Organization

logger = logging.getLogger("auditlogs.jobs")

# A run stops starting new passes after this long (the next tick carries on), well within
# Q_CLUSTER["timeout"].
MAX_RUN_SECONDS = 300
# Delivery runs every minute: a run with a backlog keeps sending for most of its minute and
# ends before the next tick, which carries on (runs never pile up behind one another).
DELIVERY_RUN_SECONDS = 50
# link_audit_events watches most of its minute (PostgreSQL), sweeping this often.
LINK_WATCH_SECONDS = 50
LINK_SWEEP_PAUSE = 0.5


def link_audit_events(seconds: float | None = None) -> dict:
    """Link what record() left unlinked (auditlogs/recording/sequencer.py). Linkers started
    after each commit do it at once; this sweep links what they left: events of a process that
    died between its commit and its linker, or of a holder that stopped at its time budget.
    On PostgreSQL, where a linker that finds the lock held relies on the holder, it sweeps
    again every LINK_SWEEP_PAUSE for LINK_WATCH_SECONDS of its minute, so no event waits more
    than a second or so even then; on SQLite every linker links (no row locks to skip), and
    one sweep per tick keeps the single worker free."""
    if seconds is None:
        seconds = LINK_WATCH_SECONDS if backend().skips_locked_rows else 0

    def work():
        deadline = time.monotonic() + seconds
        linked, sweeps, longest, busy, failed = 0, 0, None, set(), set()
        while True:
            result = sequencer.sweep()
            sweeps += 1
            linked += result["linked"]
            if result["longest_delay_seconds"] is not None:
                longest = max(longest or 0.0, result["longest_delay_seconds"])
            busy.update(result["busy_organizations"])
            failed.update(result["failed_organizations"])
            if time.monotonic() + LINK_SWEEP_PAUSE >= deadline:
                break
            time.sleep(LINK_SWEEP_PAUSE)
        return {"linked": linked, "sweeps": sweeps, "longest_delay_seconds": longest,
                "busy_organizations": sorted(busy), "failed_organizations": sorted(failed)}

    return run("link-audit-events", work)


def deliver_webhooks() -> dict:
    """Deliver to every destination that is behind, pass after pass, until none is (or
    DELIVERY_RUN_SECONDS are up); each destination gets a turn per pass."""

    def work():
        deadline = time.monotonic() + DELIVERY_RUN_SECONDS
        return {"delivered": _until_done(
            lambda: webhooks.deliver_due(deadline=deadline), deadline=deadline
        )}

    return run("deliver-webhooks", work)


def send_alerts() -> dict:
    return run("send-alerts", lambda: {"mails": _until_done(alerts.send_alerts)})


def run_operator_requests() -> dict:
    """The verifications and checkpoints operators asked for in the Django admin
    (auditlogs/integrity/jobs.py claims each, so two workers never run the same one)."""
    return run("operator-requests",
               lambda: {"ran": _until_done(integrity_requests.run_pending_jobs)})


def roll_up_volumes() -> dict:
    """Count new events into the volume chart's hourly rollups (auditlogs/storage/rollups.py
    claims each organization's cursor, so two workers never count the same events)."""
    return run("roll-up-volumes", lambda: {"counted": _until_done(rollups.roll_up_due)})


def sign_checkpoints() -> dict:
    """Verify what is new in each chain and sign a checkpoint of its head."""
    return run(SIGN_CHECKPOINTS, lambda: _each_organization(checkpoint))


def apply_retention() -> dict:
    """Remove what each organization's retention period says is too old (docs/integrity.md)."""

    def work():
        result = _each_organization(retention.apply)
        dropped = retention.drop_empty_partitions()
        return {**result, "dropped_partitions": [f"{month:%Y-%m}" for month in dropped]}

    return run("apply-retention", work)


def create_partitions() -> dict:
    """Month partitions ahead of time (PostgreSQL), so no event lands in the default one."""

    def work():
        if not partitions.is_partitioned():
            return {"created": []}
        created = partitions.ensure_partitions_ahead(app_settings.PARTITION_MONTHS_AHEAD)
        return {"created": [f"{month:%Y-%m}" for month in created]}

    return run("create-partitions", work)


def run(name: str, work: Callable[[], dict]) -> dict:
    """Run one job as the system, under a fresh request id that its log lines and any event
    it records share; note the run in JobRun (the worker's heartbeat)."""
    started, clock = timezone.now(), time.perf_counter()
    JobRun.objects.update_or_create(name=name, defaults={"started_at": started})
    context = AuditContext(actor=Actor.system(name), request_id=uuid.uuid4().hex)
    with using_context(context):
        try:
            result = work()
        except Exception as error:
            logger.exception("Job %s failed", name, extra={"job": name})
            _finished(name, error=f"{type(error).__name__}: {error}"[:2000])
            raise
        _finished(name, result=result)
        logger.info(
            "Job %s finished", name,
            extra={"job": name, "result": result,
                   "duration_ms": round((time.perf_counter() - clock) * 1000, 1)},
        )
    return result


def _finished(name: str, *, error: str = "", result: dict | None = None) -> None:
    JobRun.objects.filter(name=name).update(
        finished_at=timezone.now(), last_error=error, result=result or {}
    )


def _until_done(one_pass: Callable[[], int], deadline: float | None = None) -> int:
    """Passes back to back until one finds nothing to do (or the deadline, a time.monotonic()
    value, by default MAX_RUN_SECONDS from now, has passed)."""
    total = 0
    deadline = deadline or time.monotonic() + MAX_RUN_SECONDS
    while time.monotonic() < deadline:
        done = one_pass()
        total += done
        if not done:
            break
    return total


def _each_organization(step: Callable) -> dict:
    """`step(organization)` for every organization; a chain that does not verify is recorded
    in that organization's own log (once per distinct problem) and the others carry on."""
    broken = []
    verified = 0
    for organization in Organization.objects.order_by("id").iterator():
        with logs.about(organization.slug):
            try:
                step(organization)
            except IntegrityBroken as error:
                broken.append(organization.slug)
                logger.error("The chain does not verify: %s", error)
                record_failure(organization, error.report)
            else:
                verified += 1
    return {"verified": verified, "broken": len(broken), "broken_organizations": broken}

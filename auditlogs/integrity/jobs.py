"""Operators' integrity requests: "verify this organization's chain" or "sign a checkpoint now".

The Django admin files a request (`request_job`), the worker runs it (`run_pending_jobs`, one
call per worker pass; a task queue can call `run_job(job_id)` for one request instead), and
both the request and its result are events in the organization's log with the operator as a
`staff` actor. Verification reads every event since the last checkpoint, which can take
minutes at millions of events: that is why a web request only files it.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from auditlogs import record
from auditlogs.integrity.checkpointing import IntegrityBroken, checkpoint
from auditlogs.integrity.verification import Report, record_failure, verify
from auditlogs.models import IntegrityJob
from auditlogs.recording.catalogue import Severity
from auditlogs.recording.context import Actor, ActorType

# A job still "running" this long after it started belonged to a worker that died.
ABANDONED_AFTER = timedelta(hours=1)

REQUESTED = {
    IntegrityJob.Kind.VERIFY: "audit_log.verification_requested",
    IntegrityJob.Kind.CHECKPOINT: "audit_log.checkpoint_requested",
}
FINISHED = {
    IntegrityJob.Kind.VERIFY: "audit_log.verification_finished",
    IntegrityJob.Kind.CHECKPOINT: "audit_log.checkpoint_finished",
}


def request_job(*, organization, kind: str, operator) -> IntegrityJob:
    """File the request and record it in the organization's log, in one transaction."""
    kind = IntegrityJob.Kind(kind)
    with transaction.atomic():
        job = IntegrityJob.objects.create(
            organization=organization, kind=kind,
            requested_by_id=operator.pk, requested_by_label=operator.email,
        )
        record(
            REQUESTED[kind], organization=organization, actor=_operator(job),
            metadata={"job": job.pk},
        )
    return job


def run_pending_jobs(limit: int = 5) -> int:
    """Run up to `limit` waiting requests, oldest first; the worker calls this every pass."""
    done = 0
    while done < limit:
        job = _claim_next()
        if job is None:
            break
        _run_or_fail(job)
        done += 1
    return done


def run_job(job_id: int) -> bool:
    """Run one request by id, if it is still waiting (for a task queue); True when it ran."""
    job = _claim(IntegrityJob.objects.filter(pk=job_id))
    if job is None:
        return False
    _run_or_fail(job)
    return True


def _claim_next() -> IntegrityJob | None:
    return _claim(IntegrityJob.objects.order_by("requested_at", "id"))


def _claim(jobs) -> IntegrityJob | None:
    """Mark one waiting (or abandoned) job as running; two workers never take the same one."""
    waiting = Q(status=IntegrityJob.Status.PENDING) | Q(
        status=IntegrityJob.Status.RUNNING, started_at__lt=timezone.now() - ABANDONED_AFTER
    )
    with transaction.atomic():
        job = (
            jobs.filter(waiting).select_for_update(skip_locked=True)
            .select_related("organization").first()
        )
        if job is None:
            return None
        job.status, job.started_at = IntegrityJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    return job


def _run_or_fail(job: IntegrityJob) -> None:
    """An error ends the job as failed (shown in the admin) instead of leaving it running."""
    try:
        _run(job)
    except Exception as error:
        IntegrityJob.objects.filter(pk=job.pk).update(
            status=IntegrityJob.Status.FAILED, finished_at=timezone.now(),
            result=f"The worker stopped with an error ({type(error).__name__}); see its log.",
        )
        raise


def _run(job: IntegrityJob) -> None:
    organization = job.organization
    if job.kind == IntegrityJob.Kind.VERIFY:
        report = verify(organization)
        ok, sequence = report.ok, report.last_sequence
        result = _verified(report) if ok else f"Broken: {report.problem}"
    else:
        try:
            signed, is_new = checkpoint(organization)
        except IntegrityBroken as broken:
            report, ok, sequence = broken.report, False, broken.report.last_sequence
            result = f"Broken, nothing signed: {broken.report.problem}"
        else:
            report, ok = None, True
            sequence = signed.sequence if signed else None
            result = (
                "Nothing to sign: the log has no events." if signed is None
                else f"Signed a checkpoint at event #{signed.sequence}." if is_new
                else f"The head (event #{signed.sequence}) was already signed."
            )
    with transaction.atomic():
        if not ok:
            record_failure(organization, report)
        job.status = IntegrityJob.Status.SUCCEEDED if ok else IntegrityJob.Status.FAILED
        job.finished_at, job.result, job.sequence = timezone.now(), result, sequence
        job.save(update_fields=["status", "finished_at", "result", "sequence"])
        record(
            FINISHED[job.kind], organization=organization, actor=_operator(job),
            severity=Severity.INFO if ok else Severity.CRITICAL,
            metadata={"job": job.pk, "result": result, "sequence": sequence},
        )


def _verified(report: Report) -> str:
    if report.last_sequence == 0:
        return "Verified: the log has no events."
    return (
        f"Verified {report.checked:,} events through #{report.last_sequence}, "
        f"{report.checkpoints_matched} checkpoints matched."
    )


def _operator(job: IntegrityJob) -> Actor:
    return Actor(type=ActorType.STAFF, id=job.requested_by_id, label=job.requested_by_label)


"""Making checkpoints: verify the chain, then sign its head (checkpoints.py holds what is signed
and where it is kept; verification.py reads both, so neither imports this module).
"""

from auditlogs.integrity import checkpoints
from auditlogs.integrity.verification import failure_since_last_checkpoint, verify
from auditlogs.models import AuditEvent, Checkpoint
from auditlogs.recording import sequencer


class IntegrityBroken(Exception):
    """The chain did not verify, so no checkpoint was signed."""

    def __init__(self, report):
        super().__init__(str(report.problem))
        self.report = report


def checkpoint(organization, *, progress=None) -> tuple[Checkpoint | None, bool]:
    """Verify the chain since the newest valid checkpoint and sign its head.

    After a recorded failure the whole chain is verified instead, so checkpoints (and the
    page's "Verified through") resume only once the log verifies from its start again.
    Returns (the newest checkpoint, whether it is new). Raises IntegrityBroken, signing
    nothing, when the chain does not verify.
    """
    sequencer.link_pending(organization.pk)  # what is committed and waiting, first
    incremental = not failure_since_last_checkpoint(organization)
    report = verify(organization, incremental=incremental, progress=progress)
    if not report.ok:
        raise IntegrityBroken(report)
    if report.last_sequence == 0:
        return None, False
    existing = Checkpoint.objects.filter(
        organization_id=organization.pk, sequence=report.last_sequence,
        retention_days__isnull=True,
    ).first()
    if existing is not None:
        return existing, False
    return checkpoints.sign(organization, report.last_sequence, report.head_hash), True


def sign_retention_cut(organization, sequence: int, cut: checkpoints.RetentionCut) -> Checkpoint:
    """A retention cut at exactly `sequence`, signed after verifying the chain through it:
    it vouches for the first event kept and says why the ones before it are gone."""
    report = verify(organization, through=sequence)
    if not report.ok:
        raise IntegrityBroken(report)
    event = AuditEvent.objects.only("hash").get(organization_id=organization.pk, sequence=sequence)
    return checkpoints.sign(organization, sequence, event.hash, cut)

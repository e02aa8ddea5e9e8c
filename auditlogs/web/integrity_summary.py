"""The integrity line above the Audit Logs page, without its three reads on every view.

What the line says (auditlogs/integrity/verification.py `summarize`) rests on the chain's head
and on evidence that changes only when a checkpoint is signed or verification records a
failure. One query reads the head with the newest checkpoint and failure ids (index probes);
the evidence is kept in the shared cache under those ids, so a new checkpoint or a recorded
failure is a new key: the line never says "Verified" after a failure was recorded, and it moves
with the head (the pending count) on every view.
"""

from django.core.cache import cache
from django.db.models import OuterRef, Subquery

from auditlogs.integrity.verification import IntegrityStatus, integrity_evidence, summarize
from auditlogs.models import ChainHead, Checkpoint, IntegrityFailure
from orgs.models import Organization

# Entries are found by key, never invalidated: a day bounds what an idle log keeps.
EVIDENCE_SECONDS = 24 * 60 * 60


def integrity_summary(organization) -> IntegrityStatus:
    head, *versions = _head_and_versions(organization.pk)
    key = "auditlogs:integrity:{}:{}:{}:{}".format(organization.pk, *versions)
    evidence = cache.get(key)
    if evidence is None:
        evidence = integrity_evidence(organization)
        cache.set(key, evidence, EVIDENCE_SECONDS)
    return summarize(evidence, head)


def _head_and_versions(organization_id: int) -> tuple[int, int, int, int]:
    """The head's sequence, and the ids of the newest checkpoint of each kind (plain,
    retention cut: one partial index each) and of the newest recorded failure: one query."""
    checkpoints = Checkpoint.objects.filter(organization_id=OuterRef("pk"))

    def newest_id(rows, *order):
        return Subquery(rows.order_by(*order).values("id")[:1])

    row = Organization.objects.filter(pk=organization_id).values_list(
        Subquery(ChainHead.objects.filter(organization_id=OuterRef("pk")).values("sequence")[:1]),
        newest_id(checkpoints.filter(retention_days__isnull=True), "-sequence"),
        newest_id(checkpoints.filter(retention_days__isnull=False), "-sequence"),
        newest_id(IntegrityFailure.objects.filter(organization_id=OuterRef("pk")),
                  "-detected_at", "-id"),
    ).first()
    return tuple(value or 0 for value in row) if row else (0, 0, 0, 0)

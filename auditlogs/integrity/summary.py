"""The integrity line above the Audit Logs page, without its three reads on every view.

What the line says (auditlogs/integrity/verification.py `summarize`) rests on the chain's head
and on evidence that changes only when a checkpoint is signed or verification records a
failure. One query reads the head with the newest checkpoint and failure ids (index probes);
the evidence is kept in the shared cache under those ids, so a new checkpoint or a recorded
failure is a new key: the line never says "Verified" after a failure was recorded, and it moves
with the head (the pending count) on every view.
"""

from django.core.cache import cache
from django.db import connection

from auditlogs.integrity.verification import IntegrityStatus, integrity_evidence, summarize
from auditlogs.models import ChainHead, Checkpoint, IntegrityFailure

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
    retention cut: one partial index each) and of the newest recorded failure: one statement
    of plain SQL (the ORM would spend more compiling it than the database answering it)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSIONS_SQL, [organization_id] * 4)
        return tuple(value or 0 for value in cursor.fetchone())


_HEAD, _CHECKPOINT, _FAILURE = (
    model._meta.db_table for model in (ChainHead, Checkpoint, IntegrityFailure))
_VERSIONS_SQL = f"""
SELECT
  (SELECT sequence FROM {_HEAD} WHERE organization_id = %s),
  (SELECT id FROM {_CHECKPOINT} WHERE organization_id = %s AND retention_days IS NULL
   ORDER BY sequence DESC LIMIT 1),
  (SELECT id FROM {_CHECKPOINT} WHERE organization_id = %s AND retention_days IS NOT NULL
   ORDER BY sequence DESC LIMIT 1),
  (SELECT id FROM {_FAILURE} WHERE organization_id = %s ORDER BY detected_at DESC, id DESC
   LIMIT 1)
"""

"""Signed checkpoints: "organization O's chain had hash H at event #N, at time T".

The signed bytes are the canonical JSON (auditlogs/recording/chain.py) of

    {"type": "auditlogs.checkpoint", "version": 1, "organization": O, "sequence": N,
     "head_hash": H, "signed_at": "<UTC ISO 8601, µs, Z>"}

signed with Ed25519 (auditlogs/integrity/signing.py). A checkpoint is made only after the chain
up to it has been verified, so "checkpoint #N" also means "verified through event #N"
(checkpointing.py verifies, then signs with `sign`).

A retention cut is a checkpoint that also says the events through #N are being removed, and
under which policy: its type is "auditlogs.retention_cut" and it adds "retention_days" and
"cutoff" (events older than this time were due for removal). Only a retention cut lets a log
start after event #1 (auditlogs/integrity/verification.py, tools/verify_audit_export.py).
"""

import json
import os
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from auditlogs.conf import app_settings
from auditlogs.integrity import signing
from auditlogs.models import Checkpoint
from auditlogs.recording import chain

STATEMENT_TYPE = "auditlogs.checkpoint"
RETENTION_CUT_TYPE = "auditlogs.retention_cut"
STATEMENT_VERSION = 1


@dataclass(frozen=True)
class SignedStatement:
    """A checkpoint as signed, from the database or from the witness file."""

    organization_id: int
    sequence: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: str
    source: str = "database"
    cut: "RetentionCut | None" = None

    @property
    def is_retention_cut(self) -> bool:
        return self.cut is not None

    def statement(self) -> dict:
        return statement(
            self.organization_id, self.sequence, self.head_hash, self.signed_at, self.cut
        )

    def message(self) -> bytes:
        return chain.canonical_json(self.statement()).encode()

    def is_valid(self, keys: dict) -> bool:
        key = keys.get(self.key_id)
        return key is not None and signing.signature_is_valid(key, self.message(), self.signature)

    def as_json(self) -> dict:
        return {**self.statement(), "key_id": self.key_id, "signature": self.signature}

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> "SignedStatement":
        cut = None
        if checkpoint.is_retention_cut:
            cut = RetentionCut(checkpoint.retention_days, checkpoint.retention_cutoff)
        return cls(
            checkpoint.organization_id, checkpoint.sequence, checkpoint.head_hash,
            checkpoint.signed_at, checkpoint.key_id, checkpoint.signature, cut=cut,
        )

    @classmethod
    def from_json(cls, data: dict, source: str) -> "SignedStatement":
        """A statement as `as_json` wrote it (a witness line); KeyError/ValueError if not."""
        cut = None
        if data["type"] == RETENTION_CUT_TYPE:
            cut = RetentionCut(int(data["retention_days"]), _parse_time(data["cutoff"]))
        return cls(
            int(data["organization"]), int(data["sequence"]), data["head_hash"],
            _parse_time(data["signed_at"]), data["key_id"], data["signature"], source=source,
            cut=cut,
        )


@dataclass(frozen=True)
class RetentionCut:
    """The policy a retention cut states: keep `days`; events before `cutoff` were due."""

    days: int
    cutoff: datetime


def statement(
    organization_id: int, sequence: int, head_hash: str, signed_at: datetime,
    cut: RetentionCut | None = None,
) -> dict:
    signed = {
        "type": STATEMENT_TYPE,
        "version": STATEMENT_VERSION,
        "organization": int(organization_id),
        "sequence": int(sequence),
        "head_hash": head_hash,
        "signed_at": chain.format_time(signed_at),
    }
    if cut is not None:
        signed.update(
            type=RETENTION_CUT_TYPE, retention_days=int(cut.days),
            cutoff=chain.format_time(cut.cutoff),
        )
    return signed


def sign(
    organization, sequence: int, head_hash: str, cut: RetentionCut | None = None
) -> Checkpoint:
    """Sign and store a checkpoint (the caller has verified the chain through `sequence`).

    Needs the private key: only the commands and the worker that hold it sign
    (signing.signing_key explains itself to a process that has only the public key)."""
    signed_at = timezone.now()
    message = chain.canonical_json(
        statement(organization.pk, sequence, head_hash, signed_at, cut)
    ).encode()
    key_id, signature = signing.sign(message)
    checkpoint = Checkpoint.objects.create(
        organization_id=organization.pk, sequence=sequence, head_hash=head_hash,
        signed_at=signed_at, key_id=key_id, signature=signature,
        retention_days=cut.days if cut else None, retention_cutoff=cut.cutoff if cut else None,
    )
    slug = organization.slug
    transaction.on_commit(lambda: _witness(checkpoint, slug))
    return checkpoint


def signed_statements(organization_id: int) -> list[SignedStatement]:
    """The organization's checkpoints from the database and the witness file, in order."""
    found = {
        (s.sequence, s.head_hash, s.signature): s
        for s in map(SignedStatement.of, Checkpoint.objects.filter(organization_id=organization_id))
    }
    for witnessed, _slug in _witnessed():
        if witnessed.organization_id == organization_id:
            key = (witnessed.sequence, witnessed.head_hash, witnessed.signature)
            found.setdefault(key, witnessed)
    return sorted(found.values(), key=lambda s: (s.sequence, s.signed_at))


def witnessed_organizations() -> dict[int, tuple[str, list[SignedStatement]]]:
    """Every organization the witness file holds checkpoints of: id -> (slug, statements)."""
    organizations = {}
    for witnessed, slug in _witnessed():
        _slug, statements = organizations.setdefault(witnessed.organization_id, (slug, []))
        statements.append(witnessed)
    return organizations


def _witness(checkpoint: Checkpoint, slug: str) -> None:
    """Append the checkpoint to the out-of-database witness file, when one is configured. The
    slug (not signed) lets the verifier name an organization that no longer exists."""
    path = app_settings.CHECKPOINT_WITNESS_FILE
    if not path:
        return
    data = {**SignedStatement.of(checkpoint).as_json(), "organization_slug": slug}
    line = json.dumps(data, sort_keys=True) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


def _witnessed():
    """(statement, slug) for each readable line of the witness file."""
    path = app_settings.CHECKPOINT_WITNESS_FILE
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                data = json.loads(line)
                statement = SignedStatement.from_json(data, source="witness file")
            except (ValueError, KeyError, TypeError):
                continue
            yield statement, str(data.get("organization_slug") or "")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

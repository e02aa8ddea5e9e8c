"""Signed checkpoints: "organization O's chain had hash H at event #N, at time T".

The signed bytes are the canonical JSON (auditlogs/recording/chain.py) of

    {"type": "auditlogs.checkpoint", "version": 1, "organization": O, "sequence": N,
     "head_hash": H, "signed_at": "<UTC ISO 8601, µs, Z>"}

signed with Ed25519 (auditlogs/integrity/signing.py). A checkpoint is made only after the chain
up to it has been verified, so "checkpoint #N" also means "verified through event #N"
(checkpointing.py verifies, then signs with `sign`).
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

    def statement(self) -> dict:
        return statement(self.organization_id, self.sequence, self.head_hash, self.signed_at)

    def message(self) -> bytes:
        return chain.canonical_json(self.statement()).encode()

    def is_valid(self, keys: dict) -> bool:
        key = keys.get(self.key_id)
        return key is not None and signing.signature_is_valid(key, self.message(), self.signature)

    def as_json(self) -> dict:
        return {**self.statement(), "key_id": self.key_id, "signature": self.signature}

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> "SignedStatement":
        return cls(
            checkpoint.organization_id, checkpoint.sequence, checkpoint.head_hash,
            checkpoint.signed_at, checkpoint.key_id, checkpoint.signature,
        )


def statement(organization_id: int, sequence: int, head_hash: str, signed_at: datetime) -> dict:
    return {
        "type": STATEMENT_TYPE,
        "version": STATEMENT_VERSION,
        "organization": int(organization_id),
        "sequence": int(sequence),
        "head_hash": head_hash,
        "signed_at": chain.format_time(signed_at),
    }


def sign(organization_id: int, sequence: int, head_hash: str) -> Checkpoint:
    """Sign and store a checkpoint (the caller has verified the chain through `sequence`)."""
    signed_at = timezone.now()
    message = chain.canonical_json(
        statement(organization_id, sequence, head_hash, signed_at)
    ).encode()
    key_id, signature = signing.sign(message)
    checkpoint = Checkpoint.objects.create(
        organization_id=organization_id, sequence=sequence, head_hash=head_hash,
        signed_at=signed_at, key_id=key_id, signature=signature,
    )
    transaction.on_commit(lambda: _witness(checkpoint))
    return checkpoint


def signed_statements(organization_id: int) -> list[SignedStatement]:
    """The organization's checkpoints from the database and the witness file, in order."""
    found = {
        (s.sequence, s.head_hash, s.signature): s
        for s in map(SignedStatement.of, Checkpoint.objects.filter(organization_id=organization_id))
    }
    for witnessed in _witnessed(organization_id):
        found.setdefault((witnessed.sequence, witnessed.head_hash, witnessed.signature), witnessed)
    return sorted(found.values(), key=lambda s: (s.sequence, s.signed_at))


def _witness(checkpoint: Checkpoint) -> None:
    """Append the checkpoint to the out-of-database witness file, when one is configured."""
    path = app_settings.CHECKPOINT_WITNESS_FILE
    if not path:
        return
    line = json.dumps(SignedStatement.of(checkpoint).as_json(), sort_keys=True) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


def _witnessed(organization_id: int):
    path = app_settings.CHECKPOINT_WITNESS_FILE
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("organization") != organization_id:
                continue
            yield SignedStatement(
                organization_id, data["sequence"], data["head_hash"],
                datetime.fromisoformat(data["signed_at"].replace("Z", "+00:00")),
                data["key_id"], data["signature"], source="witness file",
            )

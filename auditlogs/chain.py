"""The per-organization hash chain, in one place so that writers and verifiers agree.

Canonical form (documented in the README so anyone can re-implement it):

    payload = {"organization": <org id>, "sequence": <n>, "occurred_at": "<UTC ISO 8601, µs, Z>",
               "action": ..., "severity": "info"|"warning"|"critical", "project_id": ...,
               "project_name": ..., "actor_type": ..., "actor_id": ..., "actor_label": ...,
               "target_type": ..., "target_id": ..., "target_label": ..., "changes": {...},
               "metadata": {...}, "ip": ..., "user_agent": ..., "request_id": ...}
    canonical = JSON of payload with keys sorted at every level, separators "," and ":",
                non-ASCII kept as UTF-8, no NaN or infinities
    hash_n = hex(SHA-256(hash_{n-1} as ASCII hex + "\n" + canonical))    hash_0 = "0" * 64
"""

import hashlib
import json
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "sequence",
    "occurred_at",
    "action",
    "severity",
    "project_id",
    "project_name",
    "actor_type",
    "actor_id",
    "actor_label",
    "target_type",
    "target_id",
    "target_label",
    "changes",
    "metadata",
    "ip",
    "user_agent",
    "request_id",
)

_SEVERITY_NAMES = {10: "info", 20: "warning", 30: "critical"}


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def payload(organization_id: int, fields: dict) -> dict:
    """The hashed view of an event, from a dict holding at least HASHED_FIELDS."""
    data = {name: fields[name] for name in HASHED_FIELDS}
    data["organization"] = organization_id
    data["occurred_at"] = format_time(fields["occurred_at"])
    data["severity"] = _SEVERITY_NAMES[int(fields["severity"])]
    return data


def link_hash(prev_hash: str, organization_id: int, fields: dict) -> str:
    body = canonical_json(payload(organization_id, fields))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()

"""The per-organization hash chain, in one place so that writers and verifiers agree.

Canonical form (documented in docs/integrity.md so anyone can re-implement it):

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
from json.encoder import encode_basestring

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

# Frozen as part of the canonical form; a test checks it matches catalogue.Severity.
SEVERITY_NAMES = {10: "info", 20: "warning", 30: "critical"}


def format_time(moment: datetime | str) -> str:
    """The canonical time; a str is taken as already canonical (the verifier lets PostgreSQL
    format it, see integrity._rows)."""
    if isinstance(moment, str):
        return moment
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
    data["severity"] = SEVERITY_NAMES[int(fields["severity"])]
    return data


def link_hash(prev_hash: str, organization_id: int, fields: dict) -> str:
    values = [fields[name] for name in HASHED_FIELDS]
    return hash_body(prev_hash, canonical_event(organization_id, values))


def hash_body(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def canonical_event(organization_id: int, values) -> str:
    """`canonical_json(payload(...))` for values in HASHED_FIELDS order, built without a dict.

    Writers and the verifier both use this; a test checks it equals the reference form above.
    The keys are fixed, so their sorted order is spelt out once here. `changes` and
    `metadata` may also come as JSON text, `occurred_at` as canonical time text.
    """
    (
        sequence, occurred_at, action, severity, project_id, project_name, actor_type,
        actor_id, actor_label, target_type, target_id, target_label, changes, metadata, ip,
        user_agent, request_id,
    ) = values
    return (
        f'{{"action":{encode_basestring(action)},"actor_id":{_number(actor_id)},'
        f'"actor_label":{encode_basestring(actor_label)},'
        f'"actor_type":{encode_basestring(actor_type)},"changes":{_object(changes)},'
        f'"ip":{"null" if ip is None else encode_basestring(ip)},'
        f'"metadata":{_object(metadata)},"occurred_at":"{format_time(occurred_at)}",'
        f'"organization":{int(organization_id)},"project_id":{_number(project_id)},'
        f'"project_name":{encode_basestring(project_name)},'
        f'"request_id":{encode_basestring(request_id)},"sequence":{int(sequence)},'
        f'"severity":"{SEVERITY_NAMES[int(severity)]}",'
        f'"target_id":{encode_basestring(target_id)},'
        f'"target_label":{encode_basestring(target_label)},'
        f'"target_type":{encode_basestring(target_type)},'
        f'"user_agent":{encode_basestring(user_agent)}}}'
    )


def _number(value) -> str:
    return "null" if value is None else str(int(value))


def _object(value) -> str:
    if value == {} or value == "{}":
        return "{}"
    return canonical_json(json.loads(value) if isinstance(value, str) else value)

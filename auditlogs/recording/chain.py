"""The per-organization hash chain, in one place so that writers and verifiers agree.

The hashed form of an event (its fields, their kinds and canonical text) is declared in
event_form.py and documented in docs/integrity.md so anyone can re-implement it:

    canonical = canonical_json(payload(organization_id, fields))
    hash_n = hex(SHA-256(hash_{n-1} as ASCII hex + "\n" + canonical))    hash_0 = "0" * 64

`canonical_event` writes the same text without building a dict (writers and the verifier call
it once per event); it is checked against `payload` when this module is imported.
"""

import hashlib
import json
from json.encoder import encode_basestring

from auditlogs.recording import event_form
from auditlogs.recording.event_form import (  # noqa: F401  (the chain's vocabulary)
    SEVERITY_NAMES,
    canonical_json,
    format_time,
    payload,
)

GENESIS_HASH = "0" * 64
HASHED_FIELDS = event_form.NAMES


def link_hash(prev_hash: str, organization_id: int, fields: dict) -> str:
    values = [fields[name] for name in HASHED_FIELDS]
    return hash_body(prev_hash, canonical_event(organization_id, values))


def hash_body(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def canonical_event(organization_id: int, values) -> str:
    """`canonical_json(payload(...))` for values in HASHED_FIELDS order, built without a dict.

    Writers and the verifier both use this. The keys are fixed, so their sorted order is spelt
    out here; `check_against_declaration` below refuses to import a version that disagrees
    with event_form.HASHED. `changes` and `metadata` may also come as JSON text,
    `occurred_at` as canonical time text.
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


# Values that exercise every kind's text rules (escapes, non-ASCII, None, nested objects).
_PROBE = {
    "sequence": 9_007_199_254_740_993,
    "occurred_at": "2026-02-03T04:05:06.000007Z",
    "action": 'a"\\\u0001é',
    "severity": 30,
    "project_id": None,
    "project_name": "p\u2028\t",
    "actor_type": "user",
    "actor_id": 2**62,
    "actor_label": "😀 <b>",
    "target_type": "t",
    "target_id": "",
    "target_label": "l\n",
    "changes": {"z": [None, {"b": 1, "a": [True, 1.5]}], "a": ["\x7f", "ü"]},
    "metadata": {},
    "ip": "2001:db8::1",
    "user_agent": "ua\\",
    "request_id": "r",
}


def check_against_declaration() -> None:
    """Raise unless `canonical_event` writes what `payload` declares (run at import)."""
    for probe in (_PROBE, {**_PROBE, "project_id": 1, "actor_id": None, "ip": None,
                           "metadata": '{"k": "v"}', "changes": "{}"}):
        values = [probe[name] for name in HASHED_FIELDS]
        if canonical_event(7, values) != canonical_json(payload(7, probe)):
            raise AssertionError(
                "chain.canonical_event disagrees with event_form.HASHED: update it with the "
                "declaration."
            )


check_against_declaration()

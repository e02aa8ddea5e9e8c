"""The per-organization hash chain, in one place so that writers and verifiers agree.

The hashed form of an event (its fields, their kinds and canonical text) is declared in
event_form.py and documented in docs/integrity.md so anyone can re-implement it:

    canonical = canonical_json(payload(organization_id, fields))
    hash_n = hex(SHA-256(hash_{n-1} as ASCII hex + "\n" + canonical))    hash_0 = "0" * 64

`canonical_event` writes the same text without building a dict (writers and the verifier call
it once per event), `canonical_rendered` from values the database rendered (the verifier's fast
pass); both are checked against `payload` when this module is imported.
"""

import hashlib
import json
from json.encoder import c_make_encoder, encode_basestring

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
    # Calls saved where the verifier's rows need none: canonical time text, empty objects.
    time_text = occurred_at if occurred_at.__class__ is str else format_time(occurred_at)
    return (
        f'{{"action":{encode_basestring(action)},'
        f'"actor_id":{"null" if actor_id is None else int(actor_id)},'
        f'"actor_label":{encode_basestring(actor_label)},'
        f'"actor_type":{encode_basestring(actor_type)},'
        f'"changes":{"{}" if changes == "{}" else _object(changes)},'
        f'"ip":{"null" if ip is None else encode_basestring(ip)},'
        f'"metadata":{"{}" if metadata == "{}" else _object(metadata)},'
        f'"occurred_at":"{time_text}",'
        f'"organization":{int(organization_id)},'
        f'"project_id":{"null" if project_id is None else int(project_id)},'
        f'"project_name":{encode_basestring(project_name)},'
        f'"request_id":{encode_basestring(request_id)},"sequence":{int(sequence)},'
        f'"severity":"{SEVERITY_NAMES[int(severity)]}",'
        f'"target_id":{encode_basestring(target_id)},'
        f'"target_label":{encode_basestring(target_label)},'
        f'"target_type":{encode_basestring(target_type)},'
        f'"user_agent":{encode_basestring(user_agent)}}}'
    )


class Unrendered(ValueError):
    """An event the fast form cannot write exactly: `canonical_event` must (the verifier's
    exact pass)."""


if encode_basestring(event_form.TEXT_SEPARATOR) != f'"{event_form.TEXT_SEPARATOR}"':
    raise AssertionError("JSON escapes the text separator: the escaped texts would not split.")


def canonical_rendered(organization_id: int, values) -> str:
    """`canonical_event` for an event as the verifier's fast pass reads it, rendered by the
    database (event_form.rendered): nothing left to convert, and the texts escaped in one call.
    Raises Unrendered where that would not be exact: the texts do not split into one part per
    text field (one held the separator), a text is missing (the texts are None:
    a missing one could not be told from a separator moved into its neighbour), an unknown
    severity (no name).

    A second spelling of the same text, checked against the declaration on import like
    `canonical_event`; the verifier reads a batch again the exact way when one of its events
    does not verify this way, so the fast form can cost time, never a verdict.
    """
    (sequence, occurred_at, severity, project_id, actor_id, changes, metadata, ip, texts) = values
    if severity is None or texts is None:  # an unknown severity; a text missing (NULL)
        raise Unrendered("a severity without a name or a text missing")
    try:
        (
            action, project_name, actor_type, actor_label, target_type, target_id,
            target_label, user_agent, request_id,
        ) = encode_basestring(texts)[1:-1].split(event_form.TEXT_SEPARATOR)
    except ValueError:
        raise Unrendered("the texts do not split into one part per text field") from None
    return (
        f'{{"action":"{action}","actor_id":{actor_id},"actor_label":"{actor_label}",'
        f'"actor_type":"{actor_type}",'
        f'"changes":{"{}" if changes == "{}" else _object(changes)},'
        f'"ip":{"null" if ip is None else encode_basestring(ip)},'
        f'"metadata":{"{}" if metadata == "{}" else _object(metadata)},'
        f'"occurred_at":"{occurred_at}","organization":{organization_id},'
        f'"project_id":{project_id},"project_name":"{project_name}",'
        f'"request_id":"{request_id}","sequence":{sequence},"severity":"{severity}",'
        f'"target_id":"{target_id}","target_label":"{target_label}",'
        f'"target_type":"{target_type}","user_agent":"{user_agent}"}}'
    )


def _object(value) -> str:
    if value.__class__ is not str or _encode_parsed is None:
        return "{}" if value == {} or value == "{}" else canonical_json(
            json.loads(value) if isinstance(value, str) else value
        )
    if value == "{}":
        return value
    # JSON text (how PostgreSQL hands objects to the verifier and the sequencer): json.loads
    # of it, the value scanned from the start, or json's own verdict when the text holds more
    # than the one value (space around it, trailing data, errors).
    try:
        parsed, end = _scan(value, 0)
    except StopIteration:
        end = -1
    return "".join(_encode_parsed(parsed if end == len(value) else json.loads(value), 0))


# canonical_json of a parsed value without json.dumps building a JSONEncoder and a C encoder
# for every object (most of the cost of a small object): one C encoder with canonical_json's
# settings, made once. It skips the check for circular references, which a value just parsed
# from text cannot have; any other value goes through canonical_json.
_scan = json.JSONDecoder().scan_once
_encode_parsed = c_make_encoder and c_make_encoder(
    None, json.JSONEncoder().default, encode_basestring, None, ":", ",", True, False, False
)  # markers, default, encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan


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
    """Raise unless `canonical_event` and `canonical_rendered` write what `payload` declares
    (run at import)."""
    as_text = {  # objects as JSON text, compact, spaced or with space around (json.loads' way)
        **_PROBE, "changes": json.dumps(_PROBE["changes"]), "metadata": ' {"k": [1.50, 2E3]} ',
    }
    for probe in (_PROBE, as_text, {**_PROBE, "project_id": 1, "actor_id": None, "ip": None,
                                    "metadata": '{"k":"v"}', "changes": "{}"}):
        values = [probe[name] for name in HASHED_FIELDS]
        rendered = event_form.rendered(probe)
        reference = canonical_json(payload(7, probe))
        for name, text in (("canonical_event", canonical_event(7, values)),
                           ("canonical_rendered", canonical_rendered(7, rendered))):
            if text != reference:
                raise AssertionError(
                    f"chain.{name} disagrees with event_form.HASHED: update it with the "
                    "declaration."
                )


check_against_declaration()

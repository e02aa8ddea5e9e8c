"""Verify an Audit Logs export offline: standard library only, no Django, no database.

    python integrations/verify_export.py audit-logs-acme-20261127T140000Z.ndjson
    python integrations/verify_export.py audit-logs-acme-20261127T140000Z.csv

For every row it recomputes the row's hash from its fields and its prev_hash (the chain rule of
auditlogs/chain.py, restated in docs/integrations.md); where two exported rows are neighbours
in the chain (sequence n and n+1) it also checks that they link. A filtered export has gaps
between sequences; a full one (range=all, no other filter) must have none.
Exit status 0 when every row verifies.
"""

import csv
import hashlib
import json
import sys

HASHED_FIELDS = (
    "sequence", "occurred_at", "action", "severity", "project_id", "project_name", "actor_type",
    "actor_id", "actor_label", "target_type", "target_id", "target_label", "changes",
    "metadata", "ip", "user_agent", "request_id",
)
_INTEGERS = ("sequence", "project_id", "actor_id", "organization_id")


def row_hash(event: dict) -> str:
    payload = {name: event[name] for name in HASHED_FIELDS}
    payload["organization"] = event["organization_id"]
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(f"{event['prev_hash']}\n{canonical}".encode()).hexdigest()


def read_events(path: str) -> list[dict]:
    return read_export(path)[0]


def read_export(path: str) -> tuple[list[dict], dict | None]:
    """(the event rows, the signed checkpoint that closes the export or None)."""
    checkpoint = None
    with open(path, encoding="utf-8", newline="") as file:
        if path.endswith(".csv"):
            lines = []
            for line in file:
                if line.startswith("# checkpoint "):
                    checkpoint = json.loads(line[len("# checkpoint "):])
                elif not line.startswith("#"):
                    lines.append(line)
            return [_from_csv(row) for row in csv.DictReader(lines)], checkpoint
        objects = [json.loads(line) for line in file if line.strip()]
    events = []
    for item in objects:
        if "checkpoint" in item:
            checkpoint = item["checkpoint"]
        elif "export" not in item:
            events.append(item)
    return events, checkpoint


def verify_checkpoint(checkpoint: dict, events: list[dict]) -> list[str]:
    """The checkpoint's signature (with `cryptography`, when installed) and, when the export
    holds the event it names, that event's hash. Compare its public_key with the one your
    organization publishes: a key inside the file proves nothing by itself."""
    problems = []
    statement = {k: checkpoint[k] for k in
                 ("type", "version", "organization", "sequence", "head_hash", "signed_at")}
    message = json.dumps(statement, sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False).encode()
    try:
        import base64

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        print("cryptography is not installed: the checkpoint's signature was not checked")
    else:
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint["public_key"]))
            key.verify(base64.b64decode(checkpoint["signature"]), message)
        except (InvalidSignature, ValueError, TypeError):
            problems.append("the checkpoint's signature does not verify")
    for event in events:
        if event["sequence"] == checkpoint["sequence"] and event["hash"] != checkpoint["head_hash"]:
            problems.append(f"sequence {event['sequence']}: the hash is not the signed head")
    return problems


def _from_csv(row: dict) -> dict:
    """CSV holds text: empty integers and addresses are null, changes and metadata JSON."""
    event = dict(row)
    for name in _INTEGERS:
        event[name] = int(event[name]) if event[name] != "" else None
    event["ip"] = event["ip"] or None
    event["changes"] = json.loads(event["changes"])
    event["metadata"] = json.loads(event["metadata"])
    return event


def verify(events: list[dict]) -> list[str]:
    """Problems found; empty when every row verifies."""
    problems = []
    by_sequence = {}
    for event in events:
        if row_hash(event) != event["hash"]:
            problems.append(f"sequence {event['sequence']}: the hash does not match the row")
        by_sequence[event["sequence"]] = event
    for sequence, event in by_sequence.items():
        previous = by_sequence.get(sequence - 1)
        if previous is not None and event["prev_hash"] != previous["hash"]:
            problems.append(f"sequence {sequence}: prev_hash is not the hash of {sequence - 1}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    events, checkpoint = read_export(argv[1])
    problems = verify(events)
    if checkpoint is not None:
        problems += verify_checkpoint(checkpoint, events)
    for problem in problems:
        print(problem)
    signed = f", checkpoint #{checkpoint['sequence']}" if checkpoint else ", no checkpoint"
    print(f"{len(events)} rows{signed}, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Verify an Audit Logs export offline, without trusting the server that made it.

Needs only Python 3.11+ and the `cryptography` package; it shares no code with the server.

    python verify_audit_export.py EXPORT.jsonl --public-key BASE64 [--checkpoints OLD.jsonl ...]
    python verify_audit_export.py FILTERED.ndjson [--public-key BASE64]
    python verify_audit_export.py FILTERED.csv [--manifest FILTERED.manifest.json] [--public-key ..]

EXPORT.jsonl is the download from Settings > Audit Logs ("Download events and signed
checkpoints"). Pass the server's public key as published to you out of band (`--public-key`,
repeatable for retired keys); without one the keys inside the export are used and a warning
says so. `--checkpoints` adds checkpoints you kept from earlier downloads: a server that later
drops events and the checkpoints vouching for them is caught by the ones you kept.

Exit status 0: every event links to the one before (SHA-256 over the previous hash and the
event's canonical JSON), the sequence has no gap, every checkpoint's Ed25519 signature
verifies, every checkpoint matches the chain, and a log that starts after event #1 is vouched
for by a signed retention cut (a plain checkpoint does not say events were removed). Exit
status 1 names the first broken event and the kind of break. The procedure is described in
docs/integrity.md.
"""

import argparse
import base64
import binascii
import csv
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS_HASH = "0" * 64
# The event fields the chain covers, besides the organization (docs/integrity.md).
HASHED_FIELDS = (
    "sequence", "occurred_at", "action", "severity", "project_id", "project_name", "actor_type",
    "actor_id", "actor_label", "target_type", "target_id", "target_label", "changes",
    "metadata", "ip", "user_agent", "request_id",
)
STATEMENT_KEYS = ("type", "version", "organization", "sequence", "head_hash", "signed_at")
CHECKPOINT = "auditlogs.checkpoint"
RETENTION_CUT = "auditlogs.retention_cut"  # adds the policy it was made under
RETENTION_CUT_KEYS = (*STATEMENT_KEYS, "retention_days", "cutoff")


class Broken(Exception):
    def __init__(self, kind: str, sequence: int, detail: str):
        super().__init__(f"{kind} at event #{sequence}: {detail}")


def canonical(value) -> str:
    """Keys sorted at every level, no whitespace, UTF-8 kept, no NaN (docs/integrity.md)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def link(prev_hash: str, event: dict) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(event)}".encode()).hexdigest()


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def load_keys(texts) -> dict:
    keys = {}
    for text in texts:
        raw = base64.b64decode(text.strip(), validate=True)
        keys[key_id(raw)] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def is_statement(record: dict) -> bool:
    return record.get("type") in (CHECKPOINT, RETENTION_CUT)


def signature_ok(keys: dict, checkpoint: dict) -> bool:
    key = keys.get(checkpoint.get("key_id"))
    if key is None or not is_statement(checkpoint) or checkpoint.get("version") != 1:
        return False
    names = RETENTION_CUT_KEYS if checkpoint["type"] == RETENTION_CUT else STATEMENT_KEYS
    try:
        statement = {name: checkpoint[name] for name in names}
        key.verify(base64.b64decode(checkpoint["signature"], validate=True),
                   canonical(statement).encode())
    except (InvalidSignature, KeyError, ValueError, binascii.Error):
        return False
    return True


def read_lines(path: str):
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as error:
                    raise SystemExit(f"{path}:{number}: not JSON ({error})") from None


def verify(path: str, public_keys: list[str], kept: list[str], out=sys.stdout) -> int:
    records = read_lines(path)
    header = next(records, None)
    if not header or header.get("type") != "auditlogs.export" or header.get("version") != 1:
        raise SystemExit(f"{path}: not an Audit Logs integrity export (version 1)")
    organization = header["organization"]
    if public_keys:
        keys = load_keys(public_keys)
    else:
        keys = load_keys(k["public_key"] for k in header["public_keys"])
        print("warning: no --public-key given; trusting the keys inside the export itself",
              file=sys.stderr)

    checkpoints = {}
    pending_event = None
    for record in records:
        if not is_statement(record):
            pending_event = record
            break
        checkpoints[(record["sequence"], record["signature"])] = record
    for extra in kept:
        for record in kept_checkpoints(extra):
            if record.get("organization") == organization:
                checkpoints.setdefault((record["sequence"], record["signature"]), record)

    try:
        for checkpoint in checkpoints.values():
            if checkpoint["organization"] != organization or not signature_ok(keys, checkpoint):
                raise Broken("invalid checkpoint", checkpoint["sequence"],
                             "its signature does not verify with the given public keys")
        vouched, cuts = {}, {}
        for checkpoint in checkpoints.values():
            vouched.setdefault(checkpoint["sequence"], set()).add(checkpoint["head_hash"])
            if checkpoint["type"] == RETENTION_CUT:
                cuts.setdefault(checkpoint["sequence"], set()).add(checkpoint["head_hash"])

        def events():
            if pending_event is not None:
                yield pending_event
            yield from records

        expected, prev_hash, count, first = None, None, 0, None
        for record in events():
            if record.get("type") != "event":
                raise SystemExit(f"{path}: unexpected line {record.get('type')!r}")
            event, sequence = record["event"], record["event"]["sequence"]
            if event["organization"] != organization:
                raise Broken("inserted or forged event", sequence, "another organization's")
            if expected is None:  # the start: genesis, or a checkpoint vouching for it
                first = sequence
                below = max((n for n in cuts if n < sequence), default=0) + 1
                if sequence == 1:
                    prev_hash = GENESIS_HASH
                elif record["prev_hash"] in cuts.get(sequence - 1, ()):
                    prev_hash = record["prev_hash"]
                elif record["prev_hash"] in vouched.get(sequence - 1, ()):
                    raise Broken("unattested cut", below,
                                 f"the export starts at #{sequence}; a plain checkpoint "
                                 "matches its start, but no signed retention cut says the "
                                 "events before it were removed")
                else:
                    raise Broken("missing event", below,
                                 f"the export starts at #{sequence} and no signed retention "
                                 "cut vouches for that start")
                expected = sequence
            if sequence > expected:
                raise Broken("missing event", expected, f"the chain jumps to #{sequence}")
            if sequence < expected:
                raise Broken("inserted or forged event", sequence, "a second event claims it")
            if link(record["prev_hash"], event) != record["hash"]:
                raise Broken("modified event", sequence, "its fields no longer match its hash")
            if record["prev_hash"] != prev_hash:
                raise Broken("inserted or forged event", sequence,
                             "it is not chained to the event before it")
            if sequence in vouched and record["hash"] not in vouched[sequence]:
                raise Broken("inserted or forged event", sequence,
                             "the chain does not match the checkpoint signed for it")
            prev_hash, expected, count = record["hash"], expected + 1, count + 1
        last = (expected - 1) if expected is not None else 0
        newest = max(vouched, default=0)
        if newest > last:
            raise Broken("cut tail", last + 1,
                         f"the export ends at #{last} but a signed checkpoint vouches for "
                         f"#{newest}")
    except Broken as broken:
        print(f"BROKEN: {broken}", file=out)
        return 1
    print(f"OK: organization {organization}: {count} events #{first or 0}–#{last} verified, "
          f"{len(checkpoints)} signed checkpoints checked", file=out)
    return 0


def kept_checkpoints(path: str):
    """Checkpoints the customer kept: integrity downloads (`?part=checkpoints`), the API's
    `checkpoints` pages (JSON objects with a "checkpoints" list, one per line or alone) and
    webhook deliveries of type "auditlogs.checkpoints", saved one per line."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        documents = [json.loads(text)]
    except ValueError:
        documents = list(read_lines(path))
    for document in documents:
        if isinstance(document, dict) and is_statement(document):
            yield document
        elif isinstance(document, dict):
            yield from (c for c in document.get("checkpoints", ()) if is_statement(c))


# Filtered exports (CSV or NDJSON from the Audit Logs page, docs/integrations.md) hold the rows
# the filters chose, so their sequences have gaps; each row must match its own hash, neighbours
# in the chain must link, and the signed checkpoint that closes the file must verify.

_CSV_INTEGERS = ("sequence", "project_id", "actor_id", "organization_id")


def read_filtered_export(path: str, manifest: str | None = None) -> tuple[list[dict], dict | None]:
    """(the event rows, the signed checkpoint that closes the export or None).

    A CSV holds only its header row and rows; its checkpoint is in the manifest downloaded
    beside it (older CSVs carried it on a last `# checkpoint` line, still read)."""
    checkpoint = None
    if manifest is not None:
        with open(manifest, encoding="utf-8") as file:
            checkpoint = json.load(file).get("checkpoint")
    with open(path, encoding="utf-8", newline="") as file:
        if path.endswith(".csv"):
            lines = []
            for line in file:
                if line.startswith("# checkpoint "):
                    checkpoint = json.loads(line[len("# checkpoint "):])
                elif not line.startswith("#"):
                    lines.append(line)
            return [_from_csv(row) for row in csv.DictReader(lines)], checkpoint
        items = [json.loads(line) for line in file if line.strip()]
    events = []
    for item in items:
        if "checkpoint" in item:
            checkpoint = item["checkpoint"]
        elif "export" not in item:
            events.append(item)
    return events, checkpoint


def _from_csv(row: dict) -> dict:
    """CSV holds text: empty integers and addresses are null, changes and metadata JSON.

    The server neutralised every cell a spreadsheet would evaluate by putting an apostrophe
    before it, and put one before every cell that already began with one: dropping one
    leading apostrophe from each cell that has one gives back the hashed value exactly."""
    event = {name: value[1:] if value.startswith("'") else value for name, value in row.items()}
    for name in _CSV_INTEGERS:
        event[name] = int(event[name]) if event[name] != "" else None
    event["ip"] = event["ip"] or None
    event["changes"] = json.loads(event["changes"])
    event["metadata"] = json.loads(event["metadata"])
    return event


def row_hash(event: dict) -> str:
    payload = {name: event[name] for name in HASHED_FIELDS}
    payload["organization"] = event["organization_id"]
    return link(event["prev_hash"], payload)


def filtered_export_problems(events: list[dict], checkpoint: dict | None,
                             public_keys: list[str] = ()) -> list[str]:
    """Problems found; empty when every row and the closing checkpoint verify."""
    problems = []
    by_sequence = {}
    # One organization per file: the one the checkpoint signs for, else the first row's.
    organization = checkpoint["organization"] if checkpoint else (
        events[0]["organization_id"] if events else None
    )
    for event in events:
        if event["organization_id"] != organization:
            problems.append(
                f"sequence {event['sequence']}: a row of organization {event['organization_id']}"
                f" in organization {organization}'s export"
            )
        if row_hash(event) != event["hash"]:
            problems.append(f"sequence {event['sequence']}: the hash does not match the row")
        by_sequence[event["sequence"]] = event
    for sequence, event in by_sequence.items():
        previous = by_sequence.get(sequence - 1)
        if previous is not None and event["prev_hash"] != previous["hash"]:
            problems.append(f"sequence {sequence}: prev_hash is not the hash of {sequence - 1}")
    if checkpoint is not None:
        keys = load_keys(public_keys or [checkpoint["public_key"]])
        if not signature_ok(keys, checkpoint):
            problems.append("the checkpoint's signature does not verify")
        signed = by_sequence.get(checkpoint["sequence"])
        if signed is not None and signed["hash"] != checkpoint["head_hash"]:
            problems.append(f"sequence {signed['sequence']}: the hash is not the signed head")
    return problems


def verify_filtered(path: str, public_keys: list[str], out=sys.stdout,
                    manifest: str | None = None) -> int:
    events, checkpoint = read_filtered_export(path, manifest)
    if checkpoint is not None and not public_keys:
        print("warning: no --public-key given; trusting the key inside the export itself",
              file=sys.stderr)
    problems = filtered_export_problems(events, checkpoint, public_keys)
    for problem in problems:
        print(f"BROKEN: {problem}", file=out)
    signed = f", checkpoint #{checkpoint['sequence']}" if checkpoint else ", no checkpoint"
    print(f"{'BROKEN' if problems else 'OK'}: {len(events)} rows{signed}, "
          f"{len(problems)} problems", file=out)
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="an integrity export (.jsonl) or a filtered export "
                        "(.ndjson or .csv)")
    parser.add_argument("--public-key", action="append", default=[],
                        help="the server's Ed25519 public key, base64 (repeatable)")
    parser.add_argument("--checkpoints", action="append", default=[], metavar="FILE",
                        help="checkpoints kept from earlier downloads (repeatable)")
    parser.add_argument("--manifest", metavar="FILE",
                        help="a CSV export's manifest (its signed checkpoint)")
    options = parser.parse_args(argv)
    if options.export.endswith((".csv", ".ndjson")):
        return verify_filtered(options.export, options.public_key, manifest=options.manifest)
    return verify(options.export, options.public_key, options.checkpoints)


if __name__ == "__main__":
    sys.exit(main())

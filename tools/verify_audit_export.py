#!/usr/bin/env python3
"""Verify an Audit Logs integrity export offline, without trusting the server that made it.

Needs only Python 3.11+ and the `cryptography` package; it shares no code with the server.

    python verify_audit_export.py EXPORT.jsonl --public-key BASE64 [--checkpoints OLD.jsonl ...]

EXPORT.jsonl is the download from Settings > Audit Logs ("Download events and signed
checkpoints"). Pass the server's public key as published to you out of band (`--public-key`,
repeatable for retired keys); without one the keys inside the export are used and a warning
says so. `--checkpoints` adds checkpoints you kept from earlier downloads: a server that later
drops events and the checkpoints vouching for them is caught by the ones you kept.

Exit status 0: every event links to the one before (SHA-256 over the previous hash and the
event's canonical JSON), the sequence has no gap, every checkpoint's Ed25519 signature
verifies and every checkpoint matches the chain. Exit status 1 names the first broken event
and the kind of break. The procedure is described in docs/integrity.md.
"""

import argparse
import base64
import binascii
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS_HASH = "0" * 64
STATEMENT_KEYS = ("type", "version", "organization", "sequence", "head_hash", "signed_at")


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


def signature_ok(keys: dict, checkpoint: dict) -> bool:
    key = keys.get(checkpoint.get("key_id"))
    if key is None:
        return False
    statement = {name: checkpoint[name] for name in STATEMENT_KEYS}
    try:
        key.verify(base64.b64decode(checkpoint["signature"], validate=True),
                   canonical(statement).encode())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return statement["type"] == "auditlogs.checkpoint" and statement["version"] == 1


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
        if record.get("type") != "auditlogs.checkpoint":
            pending_event = record
            break
        checkpoints[(record["sequence"], record["signature"])] = record
    for extra in kept:
        for record in read_lines(extra):
            if (record.get("type") == "auditlogs.checkpoint"
                    and record["organization"] == organization):
                checkpoints.setdefault((record["sequence"], record["signature"]), record)

    try:
        for checkpoint in checkpoints.values():
            if checkpoint["organization"] != organization or not signature_ok(keys, checkpoint):
                raise Broken("invalid checkpoint", checkpoint["sequence"],
                             "its signature does not verify with the given public keys")
        vouched = {}
        for checkpoint in checkpoints.values():
            vouched.setdefault(checkpoint["sequence"], set()).add(checkpoint["head_hash"])

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
                if sequence == 1:
                    prev_hash = GENESIS_HASH
                elif record["prev_hash"] in vouched.get(sequence - 1, ()):
                    prev_hash = record["prev_hash"]
                else:
                    below = [n for n in vouched if n < sequence]
                    raise Broken("missing event", max(below, default=0) + 1,
                                 f"the export starts at #{sequence} and no signed checkpoint "
                                 "vouches for that start")
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="the .jsonl integrity export")
    parser.add_argument("--public-key", action="append", default=[],
                        help="the server's Ed25519 public key, base64 (repeatable)")
    parser.add_argument("--checkpoints", action="append", default=[], metavar="FILE",
                        help="checkpoints kept from earlier downloads (repeatable)")
    options = parser.parse_args(argv)
    return verify(options.export, options.public_key, options.checkpoints)


if __name__ == "__main__":
    sys.exit(main())

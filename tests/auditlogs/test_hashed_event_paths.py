"""The same awkward events through every path that writes, reads or ships the hashed form:
record() and the bulk writer (INSERT on SQLite, COPY on PostgreSQL), the verifier's reading
(ORM on SQLite, SQL on PostgreSQL), the NDJSON and CSV exports (Python, and PostgreSQL's COPY
on PostgreSQL), the API/webhook JSON, the integrity download, and the offline verifier
(tools/verify_audit_export.py, independent on purpose). Every path must give back the
canonical text byte for byte and the stored hash hash for hash."""

import importlib.util
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditlogs import record
from auditlogs.integrity.verification import COLUMNS, verify
from auditlogs.models import AuditEvent
from auditlogs.recording import chain, event_form, recorder
from auditlogs.recording.context import Actor
from auditlogs.storage import bulk
from auditlogs.storage.backends import backend, is_postgresql
from auditlogs.web import downloads
from integrations import exports, postgresql
from integrations.serializers import FIELDS, event_dict, event_rows, to_json
from orgs.models import Organization, Plan

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_export.py"

AWKWARD_TEXT = [
    'quote " and backslash \\ and both \\"',
    "control \x01\x1f\x7f tab\t newline\n return\r",
    "unicode é ü 漢字 😀 \u2028 \u2029",
    "",
]
AWKWARD_OBJECTS = [
    {},
    {"nested": {"b": [1, {"z": None, "a": True}], "a": "ü"}, "big": 2**62, "neg": -(2**53) - 1},
    {"quote\"key": ["\\", "\n"], "emoji 😀": [None, ""]},
]


def _offline_verifier():
    spec = importlib.util.spec_from_file_location("verify_audit_export", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fields(number: int, text: str, changes: dict, metadata: dict) -> dict:
    return {
        "action": f"custom.{number}",
        "severity": (10, 20, 30)[number % 3],
        "project_id": None if number % 2 else 2**40 + number,
        "project_name": text,
        "actor_type": "user",
        "actor_id": None if number % 3 == 0 else 9_007_199_254_740_993,
        "actor_label": text,
        "target_type": "thing",
        "target_id": text[:64],
        "target_label": text,
        "changes": changes,
        "metadata": metadata,
        "ip": (None, "203.0.113.9", "2001:db8::1")[number % 3],
        "user_agent": text,
    }


def _awkward_events() -> list[dict]:
    return [
        _fields(number, text, {"field": [text, obj]} if obj else {}, obj)
        for number, (text, obj) in enumerate(
            (text, obj) for text in AWKWARD_TEXT for obj in AWKWARD_OBJECTS
        )
    ]


@pytest.fixture
def organization(db):
    return Organization.objects.create(name="Paths", slug="paths", plan=Plan.ENTERPRISE)


@pytest.fixture
def logged(organization):
    """Events written by record(), by recorder.append and by the bulk writer, in one chain."""
    record(
        "organization.updated", organization=organization, actor=Actor.system(),
        changes={"name": ['"Old" \\ name', "New 漢字\x01"]},
        metadata={"deep": {"list": [1, [2, [3]]], "empty": {}}, "huge": 2**63 - 1},
    )
    moment = datetime(2026, 11, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    recorder.append(organization.pk, [
        AuditEvent(organization_id=organization.pk, occurred_at=moment, request_id=text[:64],
                   **fields)
        for fields, text in zip(_awkward_events(), AWKWARD_TEXT * 3, strict=False)
    ])
    templates = [bulk.Template(organization.pk, **fields) for fields in _awkward_events()]
    draws = [
        bulk.Draw.at(template, moment.replace(microsecond=number), text[:64])
        for number, (template, text) in enumerate(zip(templates, AWKWARD_TEXT * 3, strict=False))
    ]
    bulk.write(organization.pk, draws)
    return AuditEvent.objects.filter(organization_id=organization.pk).order_by("sequence")


def _reference(organization_id: int, event: AuditEvent) -> tuple[str, str]:
    """(canonical text, hash) of a stored event, from the model instance."""
    text = chain.canonical_json(chain.payload(organization_id, event.__dict__))
    return text, chain.hash_body(event.prev_hash, text)


def _check(organization_id: int, expected: dict, path: str, fields: dict, hash_: str) -> None:
    sequence = int(fields["sequence"])
    text = chain.canonical_json(chain.payload(organization_id, fields))
    assert text == expected[sequence][0], f"{path}: the canonical text of #{sequence} differs"
    assert hash_ == expected[sequence][1], f"{path}: the hash of #{sequence} differs"


def test_every_path_gives_back_the_same_canonical_text_and_hash(organization, logged, tmp_path):
    org_id = organization.pk
    stored = list(logged)
    assert len(stored) == 1 + 2 * len(_awkward_events())
    expected = {event.sequence: _reference(org_id, event) for event in stored}
    for event in stored:  # what record(), append and the bulk writer stored
        assert event.hash == expected[event.sequence][1], f"stored hash of #{event.sequence}"

    # The verifier's own reading (SQL on PostgreSQL), through the fast canonical form.
    window = backend().chain_window(logged, org_id, 1, len(stored), COLUMNS)
    for row in window:
        values = row[1:-2]
        assert chain.canonical_event(org_id, values) == expected[row[1]][0]
        assert chain.hash_body(row[-2], chain.canonical_event(org_id, values)) == row[-1]
    # Its fast pass: the fields rendered by the database (SQL on PostgreSQL), in sequence order.
    rendered = backend().rendered_chain_window(logged, org_id, 1, len(stored))
    assert sorted(row[1] for row in rendered) == sorted(expected)
    left_to_the_exact_pass = 0
    for row in rendered:
        texts = row[-3]  # joined by the separator: a text holding it too has no fast form
        if texts.count(event_form.TEXT_SEPARATOR) >= len(event_form.TEXT_NAMES):
            with pytest.raises(chain.Unrendered):
                chain.canonical_rendered(org_id, row[1:-2])
            left_to_the_exact_pass += 1
        else:
            assert chain.canonical_rendered(org_id, row[1:-2]) == expected[row[1]][0]
    assert 0 < left_to_the_exact_pass < len(rendered)
    report = verify(organization)
    assert report.ok and report.checked == len(stored), report.problem

    # The API's and webhooks' JSON, as sent.
    for row in event_rows(logged):
        sent = json.loads(to_json(event_dict(row)))
        _check(org_id, expected, "API JSON", sent, sent["hash"])

    tool = _offline_verifier()
    writers = {
        "NDJSON (Python)": ("jsonl", exports.python_ndjson_chunks),
        "CSV (Python)": ("csv", exports.python_csv_chunks),
    }
    if is_postgresql():
        writers["NDJSON (PostgreSQL COPY)"] = ("jsonl", postgresql.ndjson_chunks)
        writers["CSV (PostgreSQL COPY)"] = ("csv", postgresql.csv_chunks)
    for path, (extension, chunks) in writers.items():
        body = "".join(
            chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in chunks(logged)
        )
        header = ",".join(FIELDS) + "\n" if extension == "csv" else ""
        export = tmp_path / f"export.{extension}"
        export.write_text(header + body, encoding="utf-8", newline="")
        rows, checkpoint = tool.read_filtered_export(str(export))
        assert checkpoint is None
        assert sorted(row["sequence"] for row in rows) == sorted(expected), path
        for row in rows:
            _check(org_id, expected, path, row, row["hash"])
            assert tool.row_hash(row) == expected[row["sequence"]][1], f"offline, {path}"
        assert tool.filtered_export_problems(rows, None) == [], path

    # The integrity download: each event's payload in canonical JSON, verified offline whole.
    lines = [json.loads(line) for line in downloads.export_lines(organization)]
    shipped = [line for line in lines if line["type"] == "event"]
    assert [chain.canonical_json(line["event"]) for line in shipped] == [
        expected[line["event"]["sequence"]][0] for line in shipped
    ]
    assert len(shipped) == len(stored)
    download = tmp_path / "integrity.jsonl"
    download.write_text("".join(downloads.export_lines(organization)), encoding="utf-8")
    assert tool.verify(str(download), [], [], out=io.StringIO()) == 0

def test_the_ndjson_writers_agree_field_for_field(organization, logged):
    """Python's NDJSON and PostgreSQL's (json_build_object) hold the same keys in the same
    order with the same values; so do both and the API JSON."""
    lines = "".join(exports.python_ndjson_chunks(logged)).split("\n")[:-1]
    python = [json.loads(line) for line in lines]
    api = [json.loads(to_json(event_dict(row))) for row in event_rows(logged)]
    assert [list(line) for line in python] == [list(event) for event in api]
    assert python == api
    if is_postgresql():
        copied = b"".join(postgresql.ndjson_chunks(logged)).decode().split("\n")[:-1]
        database = [json.loads(line) for line in copied]
        assert [list(line) for line in database] == [list(line) for line in python]
        assert database == python

"""Admins download the checkpoints and events and verify them offline with the standalone
script; the page shows the integrity state."""

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from auditlogs import record
from auditlogs.integrity import signing
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.integrity.guards import granted_deletion
from auditlogs.integrity.verification import record_failure, verify
from auditlogs.models import AuditEvent
from auditlogs.recording.context import Actor, acting_as
from tests.helpers.clients import signed_in
from tests.helpers.integrity import EVENTS, fill, rehash_from, tamper

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_export.py"
URL = "/orgs/{}/settings/audit-logs/integrity/export/"


def download(client, slug="acme", query=""):
    response = client.get(URL.format(slug) + query)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content).decode()


def run_script(export: Path, *extra) -> subprocess.CompletedProcess:
    key = signing.encode_public_key(signing.signing_key().public_key())
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(export), "--public-key", key, *extra],
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def signed_log(acme):
    """Acme's log: ten events, signed at the eighth."""
    fill(acme, 8)
    checkpoint(acme)
    fill(acme, 2)


def test_an_owner_downloads_an_export_the_script_verifies(signed_log, owner, acme, tmp_path):
    text = download(signed_in(owner))
    lines = [json.loads(line) for line in text.splitlines()]
    header, *rest = lines
    assert header["type"] == "auditlogs.export" and header["organization"] == acme.pk
    assert [line["type"] for line in rest][:1] == ["auditlogs.checkpoint"]
    assert [line["event"]["sequence"] for line in rest if line["type"] == "event"] == list(
        range(1, 12)  # the download itself is recorded first, as #11
    )
    export = tmp_path / "export.jsonl"
    export.write_text(text)
    result = run_script(export)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: organization" in result.stdout and "11 events #1–#11 verified" in result.stdout
    assert AuditEvent.objects.filter(action="audit_log.integrity_exported").count() == 1


def test_the_script_finds_a_tampered_export(signed_log, admin, tmp_path):
    lines = download(signed_in(admin)).splitlines()
    export = tmp_path / "export.jsonl"

    def tampered(edit) -> str:
        rows = [json.loads(line) for line in lines]
        edit(rows)
        export.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return run_script(export).stdout

    def event(rows, sequence):
        return next(r for r in rows if r["type"] == "event" and r["event"]["sequence"] == sequence)

    assert "BROKEN: modified event at event #4" in tampered(
        lambda rows: event(rows, 4)["event"].update(severity="info" if
                                                    event(rows, 4)["event"]["severity"] != "info"
                                                    else "critical"))
    assert "BROKEN: missing event at event #5" in tampered(lambda rows: rows.remove(event(rows, 5)))
    assert "BROKEN: cut tail at event #7" in tampered(lambda rows: rows.__delitem__(
        slice(rows.index(event(rows, 7)), None)))
    assert "BROKEN: invalid checkpoint at event #8" in tampered(
        lambda rows: rows[1].update(signed_at="2020-01-01T00:00:00.000000Z"))


def test_checkpoints_kept_from_an_earlier_download_catch_a_later_cut(
    signed_log, owner, acme, tmp_path
):
    owner_client = signed_in(owner)
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text(download(owner_client, query="?part=checkpoints"))
    # Someone with database access cuts the newest events, deletes the checkpoints and
    # rewinds the chain head: the server's own records no longer contradict the cut.
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence >= 6",
           [acme.pk])
    tamper("DELETE FROM auditlogs_checkpoint")
    rehash_from(acme, 6)
    export = tmp_path / "export.jsonl"
    export.write_text(download(owner_client))

    assert run_script(export).returncode == 0
    with_kept = run_script(export, "--checkpoints", str(kept))
    assert with_kept.returncode == 1
    assert "BROKEN: cut tail at event #7" in with_kept.stdout


def test_the_script_accepts_a_retention_cut_and_refuses_an_unattested_start(
    acme, initech, owner, outsider, tmp_path
):
    """Issue 12, item 3, offline: only a signed retention cut lets an export start after #1."""
    acme.audit_retention_days = 30
    acme.save()
    with acting_as(Actor.system(), at=timezone.now() - timedelta(days=40)):
        fill(acme, 3)
    fill(acme, 2)
    call_command("apply_audit_retention")
    export = tmp_path / "retained.jsonl"
    export.write_text(download(signed_in(owner)))
    result = run_script(export)
    assert result.returncode == 0, result.stdout
    assert "events #4–#7 verified" in result.stdout

    fill(initech, 4)
    checkpoint(initech)  # a plain checkpoint at #4
    fill(initech, 2)
    with (
        transaction.atomic(),
        granted_deletion(connection, initech.pk, 4),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence <= 4",
                       [initech.pk])
    export.write_text(download(signed_in(outsider), slug="initech"))
    result = run_script(export)
    assert result.returncode == 1
    assert "BROKEN: unattested cut at event #1" in result.stdout


def test_only_owners_admins_and_support_may_download(
    signed_log, member, outsider, globex_owner, owner, staff
):
    assert signed_in(member).get(URL.format("acme")).status_code == 403
    assert signed_in(outsider).get(URL.format("acme")).status_code == 404
    assert signed_in(None).get(URL.format("acme")).status_code == 302
    assert signed_in(globex_owner).get(URL.format("globex")).status_code == 403
    assert signed_in(owner).post(URL.format("acme")).status_code == 405
    staff_client = signed_in(staff)
    assert staff_client.get(URL.format("acme")).status_code == 404  # no stated reason yet
    staff_client.post("/support/", {"organization": "acme", "reason": "Incident 42 review"})
    download(staff_client)


def test_downloads_are_recorded_as_who_made_them(signed_log, owner, staff, acme, events):
    download(signed_in(owner))
    staff_client = signed_in(staff)
    staff_client.post("/support/", {"organization": "acme", "reason": "Incident 42 review"})
    download(staff_client, query="?part=checkpoints")
    recorded = events(acme, action="audit_log.integrity_exported")
    assert [(e.actor_type, e.actor_label) for e in recorded] == [
        ("user", "owner@acme.test"), ("staff", "support@auditlogs.test")
    ]


def test_the_page_shows_the_integrity_state(signed_log, admin, member, acme):
    page = signed_in(admin).get("/orgs/acme/settings/audit-logs/")
    assert "Verified through event #8 at" in page.text
    assert "newer events not yet checkpointed" in page.text
    assert "Download events and signed checkpoints" in page.text
    member_page = signed_in(member).get("/orgs/acme/settings/audit-logs/")
    # A member sees that the log is verified, not how many events the organization has.
    assert "Log integrity verified at" in member_page.text
    assert "#8" not in member_page.text and "not yet checkpointed" not in member_page.text
    assert "Download events and signed checkpoints" not in member_page.text

    tamper(f"UPDATE {EVENTS} SET severity = 20 WHERE organization_id = %s AND sequence = 3",
           [acme.pk])
    record_failure(acme, verify(acme))
    page = signed_in(admin).get("/orgs/acme/settings/audit-logs/")
    assert "Integrity warning" in page.text and "modified event at event #3" in page.text


def test_an_event_that_only_claims_a_failure_does_not_change_the_status(signed_log, acme, admin):
    """Issue 12, item 4: the status comes from verification results, never from event
    actions (generate_audit_events draws `audit_log.integrity_failed` like any action)."""
    record("audit_log.integrity_failed", organization=acme,
           metadata={"kind": "modified event", "sequence": 2, "problem": "made up"})
    page = signed_in(admin).get("/orgs/acme/settings/audit-logs/")
    assert "Verified through event #8 at" in page.text
    assert "Integrity warning" not in page.text and "made up" not in page.text
    assert verify(acme).ok


def test_a_new_log_is_not_verified_yet(owner):
    page = signed_in(owner).get("/orgs/acme/settings/audit-logs/")
    assert "not verified yet" in page.text
    call_command("checkpoint_audit_log", "--no-progress")
    page = signed_in(owner).get("/orgs/acme/settings/audit-logs/")
    assert "Verified through event #1 at" in page.text


def test_the_offline_tool_hashes_exactly_the_fields_the_server_chains():
    from auditlogs.recording.chain import HASHED_FIELDS
    from tools import verify_audit_export

    assert verify_audit_export.HASHED_FIELDS == HASHED_FIELDS

"""`GET /api/v1/orgs/<slug>/checkpoints`: the signed checkpoints, with the events endpoint's
token, tenancy, plan and rate-limit rules, so a customer keeps its own witness."""

import subprocess
import sys
from pathlib import Path

from django.core.cache import cache
from django.test import Client

from auditlogs.integrity import signing
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.integrity.checkpoints import SignedStatement
from integrations import services
from orgs.models import Plan
from tests.helpers.clients import signed_in
from tests.helpers.integrity import EVENTS, fill, rehash_from, tamper

URL = "/api/v1/orgs/{}/checkpoints"
SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_export.py"


def get(headers, slug="acme", **params):
    return Client().get(URL.format(slug), params, headers=headers)


def test_it_lists_signed_checkpoints_oldest_first_in_pages(acme, initech, acme_token):
    made = []
    for _ in range(3):
        fill(acme, 2)
        made.append(checkpoint(acme)[0])
    fill(initech, 1)
    checkpoint(initech)  # another organization's: never listed

    first = get(acme_token.headers, limit=2)
    assert first.status_code == 200
    body = first.json()
    assert [c["sequence"] for c in body["checkpoints"]] == [made[0].sequence, made[1].sequence]
    assert body["checkpoints"][0]["type"] == "auditlogs.checkpoint"
    assert body["checkpoints"][0]["signature"] == SignedStatement.of(made[0]).signature
    rest = get(acme_token.headers, limit=2, after=body["next"]).json()
    assert [c["sequence"] for c in rest["checkpoints"]] == [made[2].sequence]
    assert rest["next"] is None


def test_it_has_the_events_endpoint_rules(globex, globex_owner, acme, acme_token, settings):
    assert get({}).status_code == 401
    for slug in ("initech", "globex", "no-such-org"):
        assert get(acme_token.headers, slug=slug).status_code == 404
    _, secret = services.api_token_create(
        organization=globex, name="t", created_by=globex_owner, expires_in_days=None
    )
    free = get({"Authorization": f"Bearer {secret}"}, slug="globex")
    assert free.status_code == 403 and "Enterprise" in free.json()["detail"]
    assert get(acme_token.headers, limit=0).status_code == 400
    cache.clear()  # a fresh window
    settings.AUDITLOG_API_RATE_LIMIT = 2
    assert [get(acme_token.headers).status_code for _ in range(3)] == [200, 200, 429]
    cache.clear()
    acme.plan = Plan.FREE
    acme.save()
    assert get(acme_token.headers).status_code == 403


def test_checkpoints_kept_from_the_api_catch_a_later_cut(owner, acme, acme_token, tmp_path):
    fill(acme, 6)
    checkpoint(acme)
    kept = tmp_path / "kept-checkpoints.json"
    kept.write_text(get(acme_token.headers).content.decode())
    # Someone with database access cuts the newest events and every checkpoint row, and
    # rewinds the chain head: the server's own records agree with the cut.
    tamper(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence >= 5", [acme.pk])
    tamper("DELETE FROM auditlogs_checkpoint")
    rehash_from(acme, 5)
    export = tmp_path / "export.jsonl"
    response = signed_in(owner).get("/orgs/acme/settings/audit-logs/integrity/export/")
    export.write_text(b"".join(response.streaming_content).decode())
    key = signing.encode_public_key(signing.public_key())
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(export), "--public-key", key, "--checkpoints",
         str(kept)], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "BROKEN: cut tail" in result.stdout and "#7" in result.stdout

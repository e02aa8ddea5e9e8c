"""Several processes writing to one organization at once never fork the chain or reuse a
sequence number (PostgreSQL: the ChainHead row lock serializes writers per organization)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from auditlogs.integrity.verification import verify
from auditlogs.models import AuditEvent

WRITERS, EACH = 4, 60
ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys, time, django
django.setup()
from django.db import transaction
from auditlogs import record
from orgs.models import Organization
organization = Organization.objects.get(slug=sys.argv[1])
while time.time() < float(sys.argv[4]):
    time.sleep(0.005)
for n in range(int(sys.argv[2])):
    with transaction.atomic():
        record("project.viewed", organization=organization,
               metadata={"writer": int(sys.argv[3]), "n": n})
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_to_one_organization_keep_one_gapless_chain(acme):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes every write (BEGIN IMMEDIATE); the row lock is "
                    "PostgreSQL's, and only there can processes write at the same time")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    start_at = str(time.time() + 4)  # every writer starts at the same moment
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, "acme", str(EACH), str(n), start_at],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
        )
        for n in range(WRITERS)
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors

    events = AuditEvent.objects.filter(organization=acme).order_by("sequence")
    rows = list(events.values_list("sequence", "metadata"))
    assert [sequence for sequence, _ in rows] == list(range(1, WRITERS * EACH + 1))
    for n in range(WRITERS):
        assert sorted(m["n"] for _, m in rows if m["writer"] == n) == list(range(EACH))
    switches = sum(1 for a, b in zip(rows, rows[1:], strict=False)
                   if a[1]["writer"] != b[1]["writer"])
    assert switches > WRITERS, "the writers did not actually overlap"
    report = verify(acme)
    assert report.ok, report.problem
    assert report.checked == WRITERS * EACH

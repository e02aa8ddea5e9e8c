"""Several processes writing to one organization at once never fork the chain, reuse a sequence
number or link an event twice: record() only inserts, and the sequencer links under the
ChainHead row lock with optimistic guards (PostgreSQL: the only database where processes write
at the same time). A linker killed in the middle of a batch loses nothing."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from auditlogs import record
from auditlogs.integrity.verification import verify
from auditlogs.models import AuditEvent, ChainHead
from auditlogs.recording import sequencer

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


def _environment() -> dict:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes every write (BEGIN IMMEDIATE); the row lock is "
                    "PostgreSQL's, and only there can processes write at the same time")
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_to_one_organization_keep_one_gapless_chain(acme):
    env = _environment()
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

    sequencer.sweep()  # what a holder left at its time budget (none, mostly)
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


KILLED_LINKER = """
import os, sys, django
django.setup()
from auditlogs.recording import sequencer
from auditlogs.storage.backends import backend
database = type(backend())
write = database.link_events
batches = []

def write_then_die(self, connection, organization_id, links, *head):
    written, moved = write(self, connection, organization_id, links, *head)
    batches.append(written)
    if len(batches) == 2:
        os._exit(9)  # killed with its second batch written and not committed
    return written, moved

database.link_events = write_then_die
sequencer.link_pending(int(sys.argv[1]), wait=True, batch_size=5)
"""


@pytest.mark.django_db(transaction=True)
def test_a_linker_process_killed_mid_batch_loses_nothing_and_links_nothing_twice(
    acme, monkeypatch
):
    env = _environment()
    monkeypatch.setattr(sequencer, "link_after_this_commit", lambda organization_id, event_id: None)
    for n in range(12):
        record("project.viewed", organization=acme, metadata={"n": n})
    linker = subprocess.run(
        [sys.executable, "-c", KILLED_LINKER, str(acme.pk)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert linker.returncode == 9, linker.stderr
    # Its first batch committed; the second died with its connection (rolled back, lock freed).
    linked = AuditEvent.objects.filter(organization=acme, sequence__isnull=False)
    assert sorted(linked.values_list("sequence", flat=True)) == [1, 2, 3, 4, 5]
    assert ChainHead.sequence_for(acme.pk) == 5
    assert sequencer.link_pending(acme.pk).linked == 7
    rows = list(AuditEvent.objects.filter(organization=acme).order_by("sequence")
                .values_list("sequence", "metadata"))
    assert rows == [(n + 1, {"n": n}) for n in range(12)]
    report = verify(acme)
    assert report.ok and report.checked == 12, report.problem

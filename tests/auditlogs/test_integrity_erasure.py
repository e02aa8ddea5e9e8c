"""No command erases history in production: `flush` refuses outside tests (DEBUG, on by default,
does not open it; only AUDITLOG_ALLOW_ERASING_HISTORY does), a month
that still holds events is never dropped, and an allowed drop is recorded. Retention, the one
path that removes events, signs a retention cut stating its policy."""

import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from auditlogs.integrity import guards, retention, signing
from auditlogs.integrity.checkpoints import RETENTION_CUT_TYPE, RetentionCut, SignedStatement
from auditlogs.integrity.verification import verify
from auditlogs.models import AuditEvent, Checkpoint
from auditlogs.recording import sequencer
from auditlogs.recording.context import Actor, acting_as
from auditlogs.storage import partitions
from orgs.models import Organization
from tests.helpers.integrity import fill
from tests.helpers.locks import CommitsOnceWaitedFor, backend_pid

ROOT = Path(__file__).resolve().parents[2]
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="month partitions exist on PostgreSQL only"
)

pytestmark = pytest.mark.usefixtures("verifier")  # both ways of walking the chain


@pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])
def test_flush_is_refused_outside_tests(acme, settings, monkeypatch, debug):
    fill(acme, 3)
    call_command("checkpoint_audit_log", "--no-progress", stdout=StringIO())
    settings.DEBUG = debug  # on by default: an operator's shell may well have it
    monkeypatch.delattr(mail, "outbox")  # what a test run has and production has not
    with pytest.raises(CommandError, match="flush is refused") as refused:
        call_command("flush", interactive=False, verbosity=0)
    assert refused.value.returncode == 1
    assert AuditEvent.objects.filter(organization=acme).count() == 3
    assert Checkpoint.objects.filter(organization=acme).exists()
    assert Organization.objects.filter(slug="acme").exists()


def test_only_the_explicit_setting_lets_a_database_be_erased(settings, monkeypatch):
    monkeypatch.delattr(mail, "outbox")
    settings.DEBUG = True
    assert not guards.may_erase_history()
    settings.AUDITLOG_ALLOW_ERASING_HISTORY = True
    assert guards.may_erase_history()


@pytest.mark.parametrize("debug", ["false", None], ids=["debug off", "debug left at its default"])
def test_flush_exits_non_zero_in_a_production_configuration(tmp_path, debug):
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL")}
    if debug is not None:
        environment["DEBUG"] = debug
    environment.update(
        SECRET_KEY="p" * 50, ALLOWED_HOSTS="audit.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        AUDITLOG_SIGNING_KEY=signing.generate_private_key_text(),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "flush", "--no-input"], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "flush is refused" in result.stderr
    assert "AUDITLOG_ALLOW_ERASING_HISTORY=true" in result.stderr


def test_unapplying_the_audit_migrations_is_refused_in_a_production_configuration(tmp_path):
    """`migrate auditlogs zero` would drop every event, checkpoint and chain head table (no
    trigger fires on DROP TABLE): like flush, it runs only in tests or where the operator
    allows erasing, not merely with DEBUG, here left at its default (on)."""
    database = tmp_path / "production.sqlite3"
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL")}
    environment.update(
        SECRET_KEY="p" * 50, ALLOWED_HOSTS="audit.example.com",
        DATABASE_URL=f"sqlite:///{database}",
        AUDITLOG_SIGNING_KEY=signing.generate_private_key_text(),
    )

    def manage(*arguments):
        return subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=environment,
            capture_output=True, text=True, timeout=300,
        )

    assert manage("migrate", "--no-input").returncode == 0
    result = manage("migrate", "auditlogs", "zero", "--no-input")
    assert result.returncode == 1
    assert "refused" in result.stderr and "auditlogs" in result.stderr
    with sqlite3.connect(database) as tables:
        names = {name for (name,) in tables.execute("SELECT name FROM sqlite_master")}
    assert {"auditlogs_auditevent", "auditlogs_checkpoint", "auditlogs_chainhead"} <= names


def drop_before(month: str) -> str:
    out = StringIO()
    call_command("manage_audit_partitions", "--drop-before", month, stdout=out)
    return out.getvalue()


def old_events(organization, count: int, when: datetime):
    partitions.ensure_partitions(when, when)
    with acting_as(Actor.system(), at=when):
        fill(organization, count)


@postgresql_only
def test_a_month_holding_events_is_never_dropped(acme, initech):
    old_events(acme, 2, datetime(2024, 1, 10, tzinfo=UTC))
    old_events(initech, 1, datetime(2024, 2, 10, tzinfo=UTC))
    fill(acme, 1)
    with pytest.raises(CommandError) as refused:
        drop_before("2024-03")
    message = str(refused.value)
    assert "nothing dropped" in message and "2024-01, 2024-02" in message
    assert "acme (2 events)" in message and "initech (1 events)" in message
    assert refused.value.returncode == 1
    assert {date(2024, 1, 1), date(2024, 2, 1)} <= set(partitions.month_partitions())
    assert AuditEvent.objects.filter(occurred_at__lt=datetime(2024, 3, 1, tzinfo=UTC)).count() == 3
    assert verify(acme).ok and verify(initech).ok


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_while_its_month_is_being_dropped_is_counted_not_dropped(
    acme, monkeypatch
):
    """An import writing into an old month while the month is dropped: the drop counts only
    under the locks it keeps, so it waits for the import, counts its event and refuses."""
    # Left unlinked: a linker after the import's commit would only wait for the drop's locks.
    monkeypatch.setattr(sequencer, "link_after_this_commit", lambda organization_id, event_id: None)
    partitions.ensure_partitions(date(2024, 4, 1), date(2024, 4, 1))

    def late_import():
        with acting_as(Actor.system(), at=datetime(2024, 4, 10, tzinfo=UTC)):
            fill(acme, 1)

    with (
        CommitsOnceWaitedFor(late_import, backend_pid()) as writer,
        pytest.raises(retention.HistoryInMonths) as refused,
    ):
        retention.drop_months_before(date(2024, 5, 1), actor=Actor.system("test"))

    assert writer.committed.is_set()
    assert refused.value.holders == {acme.pk: 1}
    assert date(2024, 4, 1) in partitions.month_partitions()
    assert AuditEvent.objects.filter(
        organization=acme, occurred_at__lt=datetime(2024, 5, 1, tzinfo=UTC)
    ).count() == 1
    with connection.cursor() as cursor:  # committed tests leave no month behind
        cursor.execute(f'DROP TABLE "{partitions.partition_name(date(2024, 4, 1))}"')


@postgresql_only
def test_an_allowed_drop_is_recorded_in_every_log(acme, initech, globex):
    fill(acme, 2)
    fill(initech, 1)
    partitions.ensure_partitions(date(2023, 5, 1), date(2023, 5, 1))  # empty month
    output = drop_before("2023-06")
    assert "Dropped auditlogs_auditevent_p2023_05" in output
    for organization in (acme, initech):
        recorded = AuditEvent.objects.get(
            organization=organization, action=retention.PARTITIONS_DROPPED_ACTION
        )
        assert recorded.metadata["months"] == ["2023-05"]
        assert recorded.actor_label == "manage_audit_partitions"
        assert verify(organization).ok
    assert not AuditEvent.objects.filter(organization=globex).exists()  # no log, no note


def test_a_retention_cut_states_its_policy_and_is_signed(acme):
    acme.audit_retention_days = 30
    acme.save()
    with acting_as(Actor.system(), at=timezone.now() - timedelta(days=40)):
        fill(acme, 4)
    fill(acme, 2)
    removal = retention.apply(acme)

    cut = SignedStatement.of(Checkpoint.objects.get(organization=acme))
    statement = cut.statement()
    assert statement["type"] == RETENTION_CUT_TYPE and statement["sequence"] == 4
    assert statement["retention_days"] == 30
    assert cut.cut.cutoff == removal.cutoff and cut.signed_at > removal.cutoff
    keys = signing.verification_keys()
    assert cut.is_valid(keys)
    assert not replace(cut, cut=RetentionCut(3650, removal.cutoff)).is_valid(keys)
    assert not replace(cut, cut=None).is_valid(keys)  # not a plain checkpoint either
    assert verify(acme).ok

"""Audit events and checkpoints are append-only: the model, the admin and the database itself
refuse to change or delete them; only a deletion grant (retention, flush) opens the triggers."""

from random import Random

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from auditlogs.integrity import guards
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.models import AuditEvent, Checkpoint, ImmutableEventError
from tests.helpers.clients import signed_in
from tests.helpers.factories import UserFactory
from tests.helpers.integrity import EVENTS, fill, is_postgresql


def assert_refused(sql: str, params=()) -> None:
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def check_deferred_constraints_now() -> None:
    """PostgreSQL refuses to TRUNCATE a table with pending deferred foreign-key checks (from
    this test's inserts) before asking any trigger; run them first."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_it_refuses_changes_and_deletions_through_the_orm(acme):
    event, _ = fill(acme, 2)
    event.severity = 30
    with pytest.raises(ImmutableEventError):
        event.save()
    with pytest.raises(ImmutableEventError):
        event.delete()
    with pytest.raises(ImmutableEventError):
        AuditEvent.objects.filter(pk=event.pk).update(severity=30)
    with pytest.raises(ImmutableEventError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    signed, _ = checkpoint(acme)
    with pytest.raises(ImmutableEventError):
        signed.save()
    with pytest.raises(ImmutableEventError):
        signed.delete()


@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {EVENTS} SET severity = 30",
        f"UPDATE {EVENTS} SET metadata = metadata",
        f"DELETE FROM {EVENTS}",
        "UPDATE auditlogs_checkpoint SET head_hash = 'x'",
        "DELETE FROM auditlogs_checkpoint",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes(acme, sql):
    fill(acme, 3)
    checkpoint(acme)
    assert_refused(sql)
    assert AuditEvent.objects.filter(organization=acme).count() == 3
    assert Checkpoint.objects.filter(organization=acme).count() == 1


@pytest.mark.parametrize("table", [EVENTS, "auditlogs_checkpoint"])
def test_postgresql_refuses_truncate(acme, table):
    if not is_postgresql():
        pytest.skip("TRUNCATE exists on PostgreSQL only (SQLite's DELETE is covered above)")
    fill(acme, 2)
    check_deferred_constraints_now()
    assert_refused(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.filter(organization=acme).count() == 2


def test_postgresql_refuses_truncating_a_partition(acme):
    if not is_postgresql():
        pytest.skip("partitions exist on PostgreSQL only")
    fill(acme, 2)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass", [EVENTS],
        )
        partitions = [name for (name,) in cursor.fetchall()]
    assert partitions
    check_deferred_constraints_now()
    for partition in partitions:
        assert_refused(f'TRUNCATE "{partition}"')
    assert AuditEvent.objects.filter(organization=acme).count() == 2


def test_a_deletion_grant_opens_one_organizations_prefix_only(acme, initech):
    fill(acme, 4)
    fill(initech, 2)
    acme_events = AuditEvent.objects.filter(organization=acme)
    with (
        transaction.atomic(),
        guards.granted_deletion(connection, acme.pk, 2),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence <= 2",
            [acme.pk],
        )
        assert_refused(f"DELETE FROM {EVENTS} WHERE organization_id = %s AND sequence = 3",
                       [acme.pk])
        assert_refused(f"DELETE FROM {EVENTS} WHERE organization_id = %s", [initech.pk])
        assert_refused(f"UPDATE {EVENTS} SET severity = 30 WHERE organization_id = %s",
                       [acme.pk])
    assert sorted(acme_events.values_list("sequence", flat=True)) == [3, 4]
    assert AuditEvent.objects.filter(organization=initech).count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM auditlogs_deletion_grant")
        assert cursor.fetchone() == (0,)
    assert_refused(f"DELETE FROM {EVENTS} WHERE organization_id = %s", [acme.pk])


def test_the_admin_refuses_with_a_clear_answer(acme):
    event, *_ = fill(acme, 2)
    ops = signed_in(UserFactory(email="ops@auditlogs.test", is_staff=True, is_superuser=True))
    assert ops.post(f"/admin/auditlogs/auditevent/{event.pk}/change/",
                    {"severity": 30}).status_code == 403
    assert ops.post(f"/admin/auditlogs/auditevent/{event.pk}/delete/",
                    {"post": "yes"}).status_code == 403
    listing = ops.get("/admin/auditlogs/auditevent/")
    assert "delete_selected" not in listing.text
    ops.post("/admin/auditlogs/auditevent/",
             {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk, severity=event.severity).exists()
    assert ops.get("/admin/auditlogs/checkpoint/").status_code == 200


def test_the_triggers_are_all_installed(db):
    assert guards.missing_triggers(connection) == []


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_log_through_a_whole_table_grant(acme):
    fill(acme, 3)
    checkpoint(acme)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists() and not Checkpoint.objects.exists()
    assert guards.missing_triggers(connection) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM auditlogs_deletion_grant")
        assert cursor.fetchone() == (0,)


def test_an_organization_with_events_cannot_be_deleted(acme):
    """Events name their organization without a database foreign key (models.py says why);
    Django's PROTECT still refuses to delete an organization that has a log."""
    from django.db.models import ProtectedError

    fill(acme, 1)
    with pytest.raises(ProtectedError):
        acme.delete()
    assert AuditEvent.objects.filter(organization=acme).exists()


def test_events_are_only_written_for_an_organization_that_exists(alpha):
    """The chain head every writer locks first carries the foreign key the events do not."""
    from auditlogs.management.commands.generate_audit_events import synthetic_templates
    from auditlogs.storage import bulk
    from orgs.models import Organization

    missing = 987_654
    gone = Organization(pk=missing, slug="gone")
    template = synthetic_templates(gone, [(alpha.pk, "Alpha")], 3, Random(1))[0]
    draws = [bulk.Draw(template, 1_790_000_000_000_000 + n, f"r{n}") for n in range(3)]
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.write(missing, draws)
        connection.check_constraints()  # what the commit would do
    assert not AuditEvent.objects.filter(organization_id=missing).exists()

"""Month partitions of the event table on PostgreSQL; SQLite keeps one plain table."""

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.storage import bulk, partitions

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no partitions; the table is plain"
)


def manage(*args) -> str:
    out = StringIO()
    call_command("manage_audit_partitions", *args, stdout=out)
    return out.getvalue()


def events_at(organization, *moments, prepare=True):
    template = bulk.Template(
        organization.pk, action="organization.updated", severity=10, project_id=None,
        project_name="", actor_type="system", actor_id=None, actor_label="system",
        target_type="", target_id="", target_label="", changes={}, metadata={}, ip=None,
        user_agent="",
    )
    if prepare:
        partitions.ensure_partitions(min(moments), max(moments))
    bulk.write(organization.pk, [bulk.Draw.at(template, m, "r") for m in moments])


def test_month_arithmetic():
    assert partitions.add_months(date(2026, 11, 1), 2) == date(2027, 1, 1)
    assert partitions.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert partitions.parse_month("2026-02") == date(2026, 2, 1)
    with pytest.raises(ValueError, match="YYYY-MM"):
        partitions.parse_month("2026-13")


@pytest.mark.skipif(connection.vendor == "postgresql", reason="checks the SQLite behaviour")
def test_on_sqlite_the_command_says_there_is_nothing_to_do(db):
    assert "not partitioned" in manage("--months-ahead", "3")
    assert partitions.drop_partitions_before(date(2100, 1, 1)) == []


@postgresql_only
def test_a_migrated_database_has_this_and_next_month_and_a_default(db):
    this_month = partitions.month_start(datetime.now(UTC))
    months = partitions.month_partitions()
    assert this_month in months and partitions.add_months(this_month, 1) in months
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [partitions.DEFAULT_PARTITION])
        assert cursor.fetchone()[0] is not None
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary",
            [partitions.TABLE],
        )
        assert cursor.fetchone()[0] == ["id", "occurred_at"]


@postgresql_only
def test_events_land_in_their_month_and_indexes_reach_new_partitions(acme):
    manage("--months-ahead", "4")
    far = partitions.add_months(partitions.month_start(datetime.now(UTC)), 4)
    events_at(acme, datetime(2024, 3, 15, tzinfo=UTC), datetime(far.year, far.month, 2,
                                                                       tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT tableoid::regclass::text FROM "{partitions.TABLE}" ORDER BY occurred_at'
        )
        assert [name for (name,) in cursor.fetchall()] == [
            partitions.partition_name(date(2024, 3, 1)), partitions.partition_name(far)
        ]
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s",
                       [partitions.partition_name(far)])
        assert cursor.fetchone()[0] >= 8  # the parent's indexes, propagated


@postgresql_only
def test_an_event_of_a_month_without_partition_goes_to_default(acme):
    record("organization.updated", organization=acme)  # this month: its own partition
    events_at(acme, datetime(2001, 1, 1, tzinfo=UTC), prepare=False)

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT occurred_at FROM "{partitions.DEFAULT_PARTITION}"')
        assert [moment.year for (moment,) in cursor.fetchall()] == [2001]
    with pytest.raises(partitions.PartitionError, match="2001-01"):
        partitions.ensure_partitions(date(2001, 1, 1), date(2001, 1, 1))


@postgresql_only
def test_the_storage_drop_removes_whole_months_and_keeps_the_rest(acme):
    """The storage primitive under retention's guarded drop (test_integrity_erasure.py): the
    command refuses this while the months hold events."""
    events_at(acme, datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 2, 10, tzinfo=UTC),
              datetime(2024, 3, 10, tzinfo=UTC))
    dropped = partitions.drop_partitions_before(date(2024, 3, 1))

    assert {date(2024, 1, 1), date(2024, 2, 1)} <= set(dropped)
    assert [e.occurred_at.month for e in AuditEvent.objects.filter(organization=acme)] == [3]
    assert date(2024, 3, 1) in partitions.month_partitions()


@postgresql_only
def test_a_bad_month_is_refused(db):
    with pytest.raises(CommandError, match="YYYY-MM"):
        manage("--drop-before", "March")


@postgresql_only
def test_rows_of_a_partition_created_later_are_still_append_only(acme):
    events_at(acme, datetime(2023, 6, 1, tzinfo=UTC))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{partitions.partition_name(date(2023, 6, 1))}" SET action = %s',
            ["changed"],
        )


@postgresql_only
def test_a_partition_created_later_refuses_truncate(acme):
    manage("--months-ahead", "3")
    events_at(acme, datetime(2023, 7, 1, tzinfo=UTC))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'TRUNCATE "{partitions.partition_name(date(2023, 7, 1))}"')
    assert AuditEvent.objects.filter(organization=acme).count() == 1

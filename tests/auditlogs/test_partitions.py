"""Month partitions of the event table on PostgreSQL; SQLite keeps one plain table."""

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from auditlogs import record
from auditlogs.integrity.verification import verify
from auditlogs.models import AuditEvent
from auditlogs.recording.context import Actor, acting_as
from auditlogs.storage import bulk, partitions
from tests.helpers.locks import CommitsOnceWaitedFor, backend_pid

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


def stored_rows(organization) -> list[tuple[str, str]]:
    """Each event's partition and every column of its row as PostgreSQL writes it out."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT e.tableoid::regclass::text, e::text FROM "{partitions.TABLE}" e '
            "WHERE organization_id = %s ORDER BY sequence",
            [organization.pk],
        )
        return cursor.fetchall()


def default_partition_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{partitions.DEFAULT_PARTITION}"')
        return cursor.fetchone()[0]


def in_month(month: date) -> datetime:
    return datetime(month.year, month.month, 10, 12, tzinfo=UTC)


def drop_month(month: date) -> None:
    """Drop a month's partition: inside a test's transaction, as if no job had created it."""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{partitions.partition_name(month)}"')


@postgresql_only
def test_an_event_of_a_month_without_partition_goes_to_default_until_the_month_is_created(acme):
    record("organization.updated", organization=acme)  # this month: its own partition
    events_at(acme, datetime(2001, 1, 1, tzinfo=UTC), prepare=False)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT occurred_at FROM "{partitions.DEFAULT_PARTITION}"')
        assert [moment.year for (moment,) in cursor.fetchall()] == [2001]
    before = [row for _, row in stored_rows(acme)]

    assert partitions.ensure_partitions(date(2001, 1, 1), date(2001, 1, 1)) == [date(2001, 1, 1)]

    after = stored_rows(acme)
    assert [row for _, row in after] == before
    assert partitions.partition_name(date(2001, 1, 1)) in [name for name, _ in after]
    assert default_partition_rows() == 0


@postgresql_only
def test_a_future_event_in_the_default_gets_its_month_and_the_later_months_follow(acme, caplog):
    """A server clock ahead put an event into a month nobody had created yet: creating that
    month moves it there, row for row, and the months after it are created too."""
    this_month = partitions.month_start(datetime.now(UTC))
    ahead = [partitions.add_months(this_month, n) for n in (2, 3, 4)]
    record("organization.updated", organization=acme)
    with acting_as(Actor.system(), at=in_month(ahead[1])):  # about 100 days ahead
        record("organization.updated", organization=acme, metadata={"clock": "ahead ✓"})
    record("organization.updated", organization=acme)
    before = stored_rows(acme)
    assert before[1][0] == partitions.DEFAULT_PARTITION

    assert partitions.ensure_partitions_ahead(4) == ahead

    after = stored_rows(acme)
    assert [row for _, row in after] == [row for _, row in before]  # every column, links too
    assert after[1][0] == partitions.partition_name(ahead[1])
    assert set(ahead) <= set(partitions.month_partitions())
    assert default_partition_rows() == 0
    report = verify(acme)
    assert report.ok and report.checked == 3
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"Moved 1 events of {ahead[1]:%Y-%m} from {partitions.DEFAULT_PARTITION} into their "
        f"new partition {partitions.partition_name(ahead[1])}: they were recorded before the "
        "month had its partition (a server clock ahead, or partitions not created ahead)."
    ]


@postgresql_only
def test_a_month_created_by_moving_events_is_guarded_and_indexed_like_any_other(acme):
    month = date(2031, 5, 1)
    events_at(acme, in_month(month), prepare=False)
    partitions.ensure_partitions(month, month)
    name = partitions.partition_name(month)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING ', '') "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relname IN (%s, %s)",
            [name, partitions.DEFAULT_PARTITION],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname IN (%s, %s) AND t.tgenabled <> 'D'",
            [name, partitions.DEFAULT_PARTITION],
        )
        triggers = cursor.fetchall()
    assert sorted(d for table, d in indexes if table == name) == sorted(
        d for table, d in indexes if table == partitions.DEFAULT_PARTITION
    )
    assert sorted(t for table, t in triggers if table == name) == sorted(
        t for table, t in triggers if table == partitions.DEFAULT_PARTITION
    )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{name}"')
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{name}"')
        assert cursor.fetchone()[0] == 1


@postgresql_only
def test_migrate_creates_a_month_whose_events_went_to_the_default(acme):
    next_month = partitions.add_months(partitions.month_start(datetime.now(UTC)), 1)
    drop_month(next_month)
    with acting_as(Actor.system(), at=in_month(next_month)):
        record("organization.updated", organization=acme)
    assert stored_rows(acme)[0][0] == partitions.DEFAULT_PARTITION

    call_command("migrate", verbosity=0)  # its post_migrate hook creates this month and the next

    assert stored_rows(acme)[0][0] == partitions.partition_name(next_month)
    assert verify(acme).ok


@postgresql_only
def test_a_month_that_cannot_be_created_does_not_stop_the_later_ones(db):
    this_month = partitions.month_start(datetime.now(UTC))
    blocked, later = partitions.add_months(this_month, 2), partitions.add_months(this_month, 3)
    with connection.cursor() as cursor:  # a table in the way, not a partition
        cursor.execute(f'CREATE TABLE "{partitions.partition_name(blocked)}" (note text)')

    with pytest.raises(partitions.PartitionError, match=f"{blocked:%Y-%m}") as failed:
        partitions.ensure_partitions_ahead(3)

    assert failed.value.created == [later] and list(failed.value.failed) == [blocked]
    assert later in partitions.month_partitions()



@postgresql_only
def test_the_command_says_which_month_it_could_not_create_without_a_traceback(db):
    this_month = partitions.month_start(datetime.now(UTC))
    blocked = partitions.add_months(this_month, 2)
    with connection.cursor() as cursor:  # a table in the way, not a partition
        cursor.execute(f'CREATE TABLE "{partitions.partition_name(blocked)}" (note text)')
    with pytest.raises(CommandError, match=f"Refused: .*{blocked:%Y-%m}.* could not be created"):
        manage("--months-ahead", "3")
    assert partitions.add_months(this_month, 3) in partitions.month_partitions()


@postgresql_only
def test_move_default_gives_each_month_in_the_default_its_partition(acme):
    months = [date(2033, 1, 1), date(2033, 4, 1)]
    for month in months:
        with acting_as(Actor.system(), at=in_month(month)):
            record("organization.updated", organization=acme)
    assert partitions.months_in_default() == months

    out = manage("--months-ahead", "0", "--move-default")

    assert all(f"Created {partitions.partition_name(month)}" in out for month in months)
    assert partitions.months_in_default() == [] and default_partition_rows() == 0
    assert verify(acme).ok


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_processes_creating_the_same_month_take_turns():
    month = date(2032, 2, 1)
    with CommitsOnceWaitedFor(lambda: partitions.ensure_partitions(month, month), backend_pid()):
        assert partitions.ensure_partitions(month, month) == []  # the other one made it
    assert month in partitions.month_partitions()
    drop_month(month)  # a committed test leaves no month behind for the next ones


@postgresql_only
def test_migrate_logs_a_month_it_cannot_create_and_carries_on(db, caplog):
    next_month = partitions.add_months(partitions.month_start(datetime.now(UTC)), 1)
    drop_month(next_month)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TABLE "{partitions.partition_name(next_month)}" (note text)')

    call_command("migrate", verbosity=0)

    assert next_month not in partitions.month_partitions()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any(f"{next_month:%Y-%m}" in r.getMessage() for r in errors)


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

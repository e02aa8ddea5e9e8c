"""Month partitions of the event table on PostgreSQL (SQLite keeps one plain table).

The table `auditlogs_auditevent` is range-partitioned on `occurred_at` by calendar month in UTC:
`auditlogs_auditevent_p2026_11` holds [2026-11-01, 2026-12-01). A DEFAULT partition catches any
row whose month has no partition yet, so an insert never fails; `ensure_partitions` creates
months ahead of time (the `manage_audit_partitions` command, the worker's daily job and a
`post_migrate` hook call it) so the default partition stays empty. When it is not (a server
clock ahead dated an event months ahead, a job did not run), creating the month moves that
month's events out of the default partition into the new one, unchanged.

Retention drops whole months: `drop_partitions_before(month)` detaches and drops every month
partition that ends on or before `month`. That is a catalogue operation: fast, no DELETE, no
VACUUM, and, by design, no row triggers. It removes every organization's events of those
months and leaves a gap at the start of each chain; per-organization retention, and recording
the checkpoint a verifier needs, belong to the retention command, which calls this function.
"""

import logging
import re
from datetime import UTC, date, datetime

from django.db import DatabaseError, transaction
from django.db import connection as default_connection

from auditlogs.storage.backends import backend
from auditlogs.storage.backends.postgresql import guard_new_partition
from auditlogs.storage.grants import granted_deletion
from auditlogs.storage.tables import EVENT_TABLE

TABLE = EVENT_TABLE
DEFAULT_PARTITION = f"{TABLE}_default"
_MONTH_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")

logger = logging.getLogger("auditlogs.partitions")


class PartitionError(RuntimeError):
    """Some months could not get their partition; the others were created."""

    def __init__(self, created: list[date], failed: dict[date, Exception]):
        self.created, self.failed = created, failed  # failed: month -> the database's error
        super().__init__(
            "; ".join(
                f"{partition_name(month)} ({month:%Y-%m}) could not be created: {error}"
                for month, error in failed.items()
            )
        )


def month_start(value: date | datetime) -> date:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return value.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> date:
    """`YYYY-MM` as the first day of that month."""
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"“{text}” is not a month; write it as YYYY-MM.") from None


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def is_partitioned(connection=default_connection) -> bool:
    if not backend(connection).has_partitions:
        return False
    with connection.cursor() as cursor:
        # to_regclass: before the first audit migration (migrate of another app) there is no
        # table yet, and no partition to make.
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE]
        )
        return cursor.fetchone() is not None


def month_partitions(connection=default_connection) -> list[date]:
    """The months that have their own partition, oldest first."""
    if not is_partitioned(connection):
        return []
    months = []
    for name in backend(connection).child_tables(connection, TABLE):
        match = _MONTH_NAME.match(name)
        if match:
            months.append(date(int(match[1]), int(match[2]), 1))
    return sorted(months)


def create_default_partition(connection=default_connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE IF NOT EXISTS "{DEFAULT_PARTITION}" PARTITION OF "{TABLE}" DEFAULT'
        )


def ensure_partitions(
    first: date | datetime, last: date | datetime, connection=default_connection
) -> list[date]:
    """Create the month partitions from `first` to `last` (inclusive) that do not exist yet.

    Returns the months created. No-op off PostgreSQL. Events of a month that already sit in
    the DEFAULT partition move into the month's new partition (`_create_month`). A month that
    still cannot be created does not stop the ones after it: every month is tried, then a
    PartitionError names each that failed (and the months that were created).
    """
    months, month = [], month_start(first)
    while month <= month_start(last):
        months.append(month)
        month = add_months(month, 1)
    return ensure_months(months, connection)


def ensure_months(months: list[date], connection=default_connection) -> list[date]:
    """`ensure_partitions` for the given months (first days), in their order."""
    if not is_partitioned(connection):
        return []
    existing = set(month_partitions(connection))
    created, failed = [], {}
    for month in months:
        if month not in existing:
            try:
                if _create_month(month, connection):
                    created.append(month)
            except DatabaseError as error:
                failed[month] = error
    if failed:
        raise PartitionError(created, failed)
    return created


def months_in_default(connection=default_connection, limit: int = 24) -> list[date]:
    """The months (UTC) of the events the DEFAULT partition holds, oldest first, at most
    `limit` of them: each should have had a partition of its own. Empty (one cheap look) when
    the default partition is, as it should be."""
    if not is_partitioned(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{DEFAULT_PARTITION}")')
        if not cursor.fetchone()[0]:
            return []
        cursor.execute(
            "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date "
            f'FROM "{DEFAULT_PARTITION}" ORDER BY 1 LIMIT %s',
            [limit],
        )
        return [month for (month,) in cursor.fetchall()]


def ensure_partitions_ahead(months_ahead: int = 1, connection=default_connection) -> list[date]:
    """The current month and `months_ahead` months after it."""
    return ensure_months(months_ahead_of_now(months_ahead), connection)


def months_ahead_of_now(months_ahead: int) -> list[date]:
    """This month (UTC) and the `months_ahead` after it."""
    this_month = month_start(datetime.now(UTC))
    return [add_months(this_month, n) for n in range(months_ahead + 1)]


def drop_partitions_before(month: date, connection=default_connection) -> list[date]:
    """Detach and drop every month partition that ends on or before `month` (a month's first
    day). Returns the months dropped. Does not touch the DEFAULT partition. No-op off
    PostgreSQL, where the retention command must delete rows instead."""
    cutoff = month_start(month)
    dropped = []
    for existing in month_partitions(connection):
        if existing < cutoff:
            name = partition_name(existing)
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                # Deferred foreign-key checks of rows inserted earlier in the same transaction
                # would make PostgreSQL refuse the DROP ("pending trigger events"); run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{name}"')
                cursor.execute(f'DROP TABLE "{name}"')
            dropped.append(existing)
    return dropped


def lock_months_before(month: date, connection=default_connection) -> list[date]:
    """Inside a transaction: lock the event table and every month partition that ends on or
    before `month` against all reads and writes until the transaction ends; returns those
    months. What is then counted in them stays true until `drop_partitions_before` drops
    them: an insert still in flight into one of them is waited for (it holds the parent), and
    no partition can be created or attached meanwhile. The parent first, as writers lock it."""
    if not connection.in_atomic_block:
        raise RuntimeError("Partition locks must live inside one transaction.")
    cutoff = month_start(month)
    with connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE ONLY "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        months = [existing for existing in month_partitions(connection) if existing < cutoff]
        if months:
            names = ", ".join(f'"{partition_name(existing)}"' for existing in months)
            cursor.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
    return months


def _create_month(month: date, connection) -> bool:
    """Create one month's partition, moving in the month's events the DEFAULT partition holds;
    False if another process has just created it.

    The table is created alone, filled and attached, in one transaction. The move deletes
    the rows from the DEFAULT partition under a deletion grant (auditlogs/integrity/guards.py)
    and inserts exactly those rows, every column as it was (their links included), in one
    statement; neither the grant nor the new table is visible to any other transaction, and
    the table has its guards (the row triggers come from the parent when it is attached)
    before anyone can see it."""
    name = partition_name(month)
    start = f"{month.isoformat()} 00:00:00+00"
    end = f"{add_months(month, 1).isoformat()} 00:00:00+00"
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # The whole table, as CREATE TABLE ... PARTITION OF would lock it, and not only
        # against other partition changes (all ATTACH needs): an insert routed to the DEFAULT
        # partition before the month existed would fail once it is attached ("violates
        # partition constraint"); locked out, it waits and then goes to the new month. The
        # parent first, as writers lock it, so none of them waits for us while we wait for it;
        # two processes creating the same month take turns, and the second finds it made.
        cursor.execute(f'LOCK TABLE ONLY "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        cursor.execute(f'LOCK TABLE ONLY "{DEFAULT_PARTITION}" IN ACCESS EXCLUSIVE MODE')
        if name in backend(connection).child_tables(connection, TABLE):
            return False
        cursor.execute(
            f'CREATE TABLE "{name}" (LIKE "{TABLE}" INCLUDING ALL EXCLUDING IDENTITY '
            "EXCLUDING INDEXES)"  # ids come from the parent's identity; attach adds indexes
        )
        moved = _move_from_default(cursor, name, start, end, connection)
        cursor.execute(
            f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{name}" '
            f"FOR VALUES FROM ('{start}') TO ('{end}')"
        )
        guard_new_partition(cursor, name)
    if moved:
        logger.warning(
            "Moved %d events of %s from %s into their new partition %s: they were recorded "
            "before the month had its partition (a server clock ahead, or partitions not "
            "created ahead).", moved, f"{month:%Y-%m}", DEFAULT_PARTITION, name,
        )
    return True


def _move_from_default(cursor, name: str, start: str, end: str, connection) -> int:
    """Move the DEFAULT partition's rows of [start, end) into the table `name`: how many."""
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        [TABLE],
    )
    columns = ", ".join(f'"{column}"' for (column,) in cursor.fetchall())
    with granted_deletion(connection, None, 0):
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" '
            f"WHERE occurred_at >= %s AND occurred_at < %s RETURNING {columns}) "
            f'INSERT INTO "{name}" ({columns}) SELECT {columns} FROM moved',
            [start, end],
        )
        return cursor.rowcount


def create_partitions_after_migrate(sender, using, **kwargs):
    """post_migrate: every deploy makes sure this month and the next have their partitions,
    so the DEFAULT partition only ever catches what a missed month would otherwise lose. A
    month that cannot be created is logged as an error, not raised: the deploy goes on (an
    insert never needs a partition), and the worker's daily job tries again and fails
    visibly until it succeeds."""
    from django.db import connections

    try:
        ensure_partitions_ahead(1, connections[using])
    except PartitionError as error:
        logger.error("post_migrate: %s", error)

"""Month partitions of the event table on PostgreSQL (SQLite keeps one plain table).

The table `auditlogs_auditevent` is range-partitioned on `occurred_at` by calendar month in UTC:
`auditlogs_auditevent_p2026_11` holds [2026-11-01, 2026-12-01). A DEFAULT partition catches any
row whose month has no partition yet, so an insert never fails; `ensure_partitions` creates
months ahead of time (the `manage_audit_partitions` command and a `post_migrate` hook call it)
so the default partition stays empty.

Retention drops whole months: `drop_partitions_before(month)` detaches and drops every month
partition that ends on or before `month`. That is a catalogue operation: fast, no DELETE, no
VACUUM, and, by design, no row triggers. It removes every organization's events of those
months and leaves a gap at the start of each chain; per-organization retention, and recording
the checkpoint a verifier needs, belong to the retention command, which calls this function.
"""

import re
from datetime import UTC, date, datetime

from django.db import connection as default_connection
from django.db import transaction

from auditlogs.storage.backends import backend
from auditlogs.storage.backends.postgresql import guard_new_partition
from auditlogs.storage.tables import EVENT_TABLE

TABLE = EVENT_TABLE
DEFAULT_PARTITION = f"{TABLE}_default"
_MONTH_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")


class PartitionError(RuntimeError):
    pass


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
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
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

    Returns the months created. No-op off PostgreSQL. A month whose rows already sit in the
    DEFAULT partition cannot get its own partition (PostgreSQL refuses); that is reported
    as a PartitionError naming the month, since moving rows would mean deleting events.
    """
    if not is_partitioned(connection):
        return []
    existing = set(month_partitions(connection))
    created = []
    month = month_start(first)
    while month <= month_start(last):
        if month not in existing:
            _create_month(month, connection)
            created.append(month)
        month = add_months(month, 1)
    return created


def ensure_partitions_ahead(months_ahead: int = 1, connection=default_connection) -> list[date]:
    """The current month and `months_ahead` months after it."""
    this_month = month_start(datetime.now(UTC))
    return ensure_partitions(this_month, add_months(this_month, months_ahead), connection)


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


def _create_month(month: date, connection) -> None:
    name = partition_name(month)
    start, end = month.isoformat(), add_months(month, 1).isoformat()
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" '
                f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
            )
            guard_new_partition(cursor, name)
    except Exception as error:
        if "would be violated by some row" in str(error):
            raise PartitionError(
                f"Events of {month:%Y-%m} already sit in the default partition "
                f"{DEFAULT_PARTITION}; that month cannot get its own partition."
            ) from error
        raise


def create_partitions_after_migrate(sender, using, **kwargs):
    """post_migrate: every deploy makes sure this month and the next have their partitions,
    so the DEFAULT partition only ever catches what a missed month would otherwise lose."""
    from django.db import connections

    ensure_partitions_ahead(1, connections[using])

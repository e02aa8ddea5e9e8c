"""Month partitions of the event table on PostgreSQL: create ahead, drop old months.

    python manage.py manage_audit_partitions                      # this month and the next
    python manage.py manage_audit_partitions --months-ahead 3
    python manage.py manage_audit_partitions --drop-before 2025-12  # drops months up to 2025-11

Run it daily or monthly (cron); a post_migrate hook also creates this month and the next.
Dropping removes every organization's events of those months at once (no row triggers, no
VACUUM); see auditlogs/storage/partitions.py.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from auditlogs.storage import partitions


class Command(BaseCommand):
    help = "Create month partitions of the audit event table ahead of time; drop old months."

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=1)
        parser.add_argument(
            "--drop-before", metavar="YYYY-MM",
            help="Drop every month partition before this month (all organizations' events).",
        )

    def handle(self, *args, months_ahead, drop_before, **options):
        if not partitions.is_partitioned():
            self.stdout.write("The event table is not partitioned here (PostgreSQL only).")
            return
        if months_ahead < 0:
            raise CommandError("--months-ahead must be 0 or more.")
        created = partitions.ensure_partitions_ahead(months_ahead)
        for month in created:
            self.stdout.write(f"Created {partitions.partition_name(month)}")
        if drop_before:
            try:
                cutoff = partitions.parse_month(drop_before)
            except ValueError as error:
                raise CommandError(str(error)) from None
            started = time.perf_counter()
            dropped = partitions.drop_partitions_before(cutoff)
            elapsed = time.perf_counter() - started
            for month in dropped:
                self.stdout.write(f"Dropped {partitions.partition_name(month)}")
            self.stdout.write(f"Dropped {len(dropped)} month(s) in {elapsed * 1000:.0f} ms.")
        months = partitions.month_partitions()
        if months:
            self.stdout.write(
                f"Months with a partition: {months[0]:%Y-%m} to {months[-1]:%Y-%m} "
                f"({len(months)})."
            )

"""Month partitions of the event table on PostgreSQL: create ahead, drop old months.

    python manage.py manage_audit_partitions                      # this month and the next
    python manage.py manage_audit_partitions --months-ahead 3
    python manage.py manage_audit_partitions --drop-before 2025-12  # drops months up to 2025-11
    python manage.py manage_audit_partitions --move-default        # months the default holds

Run it daily or monthly (cron); a post_migrate hook also creates this month and the next.
Events whose month had no partition yet sit in the default partition (`/readyz` names those
months); `--move-default` gives each of them its partition, moving the events there unchanged,
which holds writes of the event table while it moves (seconds per 100,000 events).
Dropping a month would remove every organization's events of it at once (no row triggers), so
it is refused while any organization still has events there (their own retention,
`apply_audit_retention`, removes them with a signed retention cut); an allowed drop is recorded
in every organization's log. See auditlogs/integrity/retention.py.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from auditlogs.integrity import retention
from auditlogs.recording.context import Actor
from auditlogs.storage import partitions
from orgs.models import Organization


class Command(BaseCommand):
    help = "Create month partitions of the audit event table ahead of time; drop old months."

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=1)
        parser.add_argument(
            "--move-default", action="store_true",
            help="Give every month whose events sit in the default partition its own "
            "partition, moving them there (writes wait meanwhile).",
        )
        parser.add_argument(
            "--drop-before", metavar="YYYY-MM",
            help="Drop every month partition before this month; refused while any "
            "organization still has events in them.",
        )

    def handle(self, *args, months_ahead, drop_before, move_default, **options):
        if not partitions.is_partitioned():
            self.stdout.write("The event table is not partitioned here (PostgreSQL only).")
            return
        if months_ahead < 0:
            raise CommandError("--months-ahead must be 0 or more.")
        months = partitions.months_ahead_of_now(months_ahead)
        if move_default:
            months += partitions.months_in_default(limit=10_000)
        self._ensure(months)
        if drop_before:
            try:
                cutoff = partitions.parse_month(drop_before)
            except ValueError as error:
                raise CommandError(str(error)) from None
            started = time.perf_counter()
            try:
                dropped = retention.drop_months_before(
                    cutoff, actor=Actor.system("manage_audit_partitions")
                )
            except retention.HistoryInMonths as refused:
                raise CommandError(_refusal(refused), returncode=1) from None
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


    def _ensure(self, months) -> None:
        """Create the months' partitions and name those created; a month the database refused
        is a clear error (after the months that were created), not a traceback."""
        refused = None
        try:
            created = partitions.ensure_months(months)
        except partitions.PartitionError as error:
            created, refused = error.created, error
        for month in created:
            self.stdout.write(f"Created {partitions.partition_name(month)}")
        if refused is not None:
            raise CommandError(f"Refused: {refused}", returncode=1)


def _refusal(refused: retention.HistoryInMonths) -> str:
    slugs = dict(Organization.objects.filter(pk__in=refused.holders).values_list("pk", "slug"))
    holders = ", ".join(
        f"{slugs.get(pk, f'organization {pk}')} ({count:,} events)"
        for pk, count in sorted(refused.holders.items(), key=lambda item: slugs.get(item[0], ""))
    )
    months = ", ".join(f"{month:%Y-%m}" for month in refused.months)
    return (
        f"Refused, nothing dropped: {months} still hold events of {holders}. Dropping them "
        "would erase history no retention removed; set those organizations' retention "
        "period and run apply_audit_retention first."
    )

"""Remove audit events older than each organization's retention period (docs/integrity.md)."""

from django.core.management.base import BaseCommand, CommandError

from auditlogs.integrity import retention
from auditlogs.integrity.checkpointing import IntegrityBroken
from auditlogs.integrity.verification import record_failure
from auditlogs.management.commands._integrity import organizations, require_signing_key


class Command(BaseCommand):
    help = (
        "Remove the events older than each organization's retention period "
        "(Organization.audit_retention_days; empty keeps everything). The chain is verified "
        "first, a signed retention cut vouches for the first event kept, and the removal is "
        "recorded as an audit_log.retention_applied event."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="Only this organization.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be removed; remove nothing."
        )

    def handle(self, *args, org=None, dry_run=False, **options):
        if not dry_run:
            require_signing_key()
        broken = []
        for organization in organizations(org):
            if dry_run:
                removal = retention.plan(organization)
                if removal is not None:
                    self.stdout.write(
                        f"{organization.slug}: would remove {removal.count:,} events "
                        f"#{removal.first_sequence}–#{removal.through_sequence} "
                        f"(older than {removal.cutoff:%Y-%m-%d %H:%M} UTC)"
                    )
                continue
            try:
                removal = retention.apply(organization)
            except IntegrityBroken as error:
                broken.append(organization.slug)
                self.stderr.write(f"{organization.slug}: nothing removed, BROKEN: {error}")
                record_failure(organization, error.report)
                continue
            if removal is not None:
                self.stdout.write(
                    f"{organization.slug}: removed {removal.count:,} events "
                    f"#{removal.first_sequence}–#{removal.through_sequence}"
                )
        if not dry_run:
            dropped = retention.drop_empty_partitions()
            if dropped:
                months = ", ".join(f"{month:%Y-%m}" for month in dropped)
                self.stdout.write(f"dropped empty partitions: {months}")
        if broken:
            raise CommandError(
                f"Retention skipped {', '.join(broken)}: the chain does not verify.",
                returncode=1,
            )

"""Verify organizations' audit chains; exit 1 naming the first broken event and its kind.

Without --org it also reads the witness file for organizations that no longer exist: a log
erased with its organization (flush, a dropped table) fails verification, named.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from auditlogs.integrity import guards
from auditlogs.integrity.verification import erased_organizations, record_failure, verify
from auditlogs.management.commands._integrity import ProgressBar, organizations
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Stream each organization's audit events in order (a long chain in windows walked in "
        "parallel), recompute every link of the hash chain and check it against the signed "
        "checkpoints. Exits with status 1 naming the first broken event and the kind of break."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="Only this organization.")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--no-record", action="store_true",
            help="Do not record a failure (for the page's status and as an "
            "audit_log.integrity_failed event).",
        )

    def handle(self, *args, org=None, batch_size=5000, no_progress=False, no_record=False,
               **options):
        missing = guards.missing_triggers(connection)
        if missing:
            self.stderr.write(
                f"warning: append-only triggers missing or disabled: {', '.join(missing)} "
                "(python manage.py migrate puts them back)"
            )
        broken = []
        for organization in organizations(org):
            bar = ProgressBar(organization.slug, enabled=not no_progress)
            started = time.monotonic()
            report = verify(organization, progress=bar, batch_size=batch_size)
            bar.close()
            seconds = time.monotonic() - started
            if report.ok:
                how = f" in {report.windows} windows walked in parallel" if report.windows else ""
                self.stdout.write(
                    f"{organization.slug}: OK, {report.checked:,} events verified through "
                    f"#{report.last_sequence} in {seconds:.1f}s{how}, "
                    f"{report.checkpoints_matched} checkpoints matched, head {report.head_hash}"
                )
                continue
            broken.append(organization.slug)
            self.stderr.write(f"{organization.slug}: BROKEN: {report.problem}")
            if not no_record:
                record_failure(organization, report)
        if org is None:
            for erased in erased_organizations(Organization.objects.values_list("pk", flat=True)):
                broken.append(erased.name)
                self.stderr.write(f"{erased.name}: BROKEN: {erased.problem}")
        if broken:
            raise CommandError(
                f"Integrity check failed for {', '.join(broken)}.", returncode=1
            )

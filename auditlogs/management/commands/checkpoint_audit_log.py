"""Verify each organization's new events and sign a checkpoint of its chain head.

Run it on demand and periodically (cron or a systemd timer, e.g. every 15 minutes), where the
private key is configured. `--generate-key` needs no key and no database: it is how the first
key is made on a fresh production configuration.
"""

from django.core.management.base import BaseCommand, CommandError

from auditlogs.integrity import signing
from auditlogs.integrity.checkpointing import IntegrityBroken, checkpoint
from auditlogs.integrity.verification import record_failure
from auditlogs.management.commands._integrity import (
    ProgressBar,
    organizations,
    require_signing_key,
)


class Command(BaseCommand):
    # The key check (auditlogs.E001) must not stop --generate-key; handle() runs the checks
    # itself for everything else.
    requires_system_checks = []
    help = (
        "Verify each organization's chain since its newest checkpoint and sign a checkpoint "
        "(organization, sequence, head hash, time) with the Ed25519 key from the settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="Only this organization.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--public-key", action="store_true",
            help="Print the public key (base64) and its key id, to publish, and stop.",
        )
        parser.add_argument(
            "--generate-key", action="store_true",
            help="Print a new private key for AUDITLOG_SIGNING_KEY, and stop.",
        )

    def handle(self, *args, org=None, no_progress=False, public_key=False, generate_key=False,
               **options):
        if generate_key:
            self.stdout.write(signing.generate_private_key_text())
            return
        self.check()
        if public_key:
            key = signing.public_key()
            self.stdout.write(f"{signing.encode_public_key(key)} key-id {signing.key_id(key)}")
            return
        require_signing_key()
        broken = []
        for organization in organizations(org):
            bar = ProgressBar(organization.slug, enabled=not no_progress)
            try:
                signed, is_new = checkpoint(organization, progress=bar)
            except IntegrityBroken as error:
                bar.close()
                broken.append(organization.slug)
                self.stderr.write(f"{organization.slug}: not signed, BROKEN: {error}")
                record_failure(organization, error.report)
                continue
            bar.close()
            if signed is None:
                self.stdout.write(f"{organization.slug}: no events yet")
            elif is_new:
                self.stdout.write(
                    f"{organization.slug}: checkpoint #{signed.sequence} signed "
                    f"(key id {signed.key_id})"
                )
            else:
                self.stdout.write(
                    f"{organization.slug}: already checkpointed at #{signed.sequence}"
                )
        if broken:
            raise CommandError(
                f"No checkpoint for {', '.join(broken)}: the chain does not verify.",
                returncode=1,
            )

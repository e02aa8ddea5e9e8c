"""The worker: sends new events to webhook destinations, mails Critical-event alerts, runs
the integrity checks operators asked for in the Django admin and counts new events into the
volume chart's rollups (auditlogs/storage/rollups.py).

    python manage.py deliver_audit_events            # run until stopped (Ctrl-C, SIGTERM)
    python manage.py deliver_audit_events --once     # one pass, e.g. from cron

It keeps no state of its own: each destination's and each subscription's cursor is in the
database, so a restarted worker carries on where the last one stopped.
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from auditlogs.integrity import jobs
from auditlogs.storage import rollups
from integrations import alerts, webhooks

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Deliver new audit events to webhook destinations, send Critical-event alerts and run "
        "operators' integrity requests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one pass, then exit.")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between passes (default 5)."
        )

    def handle(self, *args, once: bool, interval: float, **options):
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
        while True:
            if not once:
                # A long-running worker drops connections the database has closed meanwhile.
                close_old_connections()
            delivered, mails = self.run_pass()
            if delivered or mails or once:
                self.stdout.write(f"Delivered {delivered} events, sent {mails} alert mails.")
            if once or self.stopping:
                return
            time.sleep(interval)
            if self.stopping:
                return

    def run_pass(self) -> tuple[int, int]:
        delivered = mails = 0
        try:
            delivered = webhooks.deliver_due()
        except Exception:  # one bad pass must not stop the worker; the cursors are safe
            logger.exception("Webhook delivery pass failed")
        try:
            mails = alerts.send_alerts()
        except Exception:
            logger.exception("Alert pass failed")
        try:
            jobs.run_pending_jobs()
        except Exception:
            logger.exception("Integrity job pass failed")
        try:
            rollups.roll_up_due()
        except Exception:
            logger.exception("Roll-up pass failed")
        return delivered, mails

    def _stop(self, signum, frame):
        self.stopping = True

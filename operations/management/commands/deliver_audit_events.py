"""Deliver pending events to the webhook destinations (for up to the 50 seconds of one run of
the worker's job), send the pending alert mails and run the integrity checks operators asked
for in the admin and count new events into the volume chart's rollups, now, then exit: what
the worker (`manage.py qcluster`) does every minute, for a one-off run.

    python manage.py deliver_audit_events

Safe beside a running worker: each destination, subscription and request is worked on by one
at a time. A job that fails is logged with its traceback and the others still run.
"""

from django.core.management.base import BaseCommand

from operations import jobs

JOBS = ("deliver_webhooks", "send_alerts", "run_operator_requests", "roll_up_volumes")


class Command(BaseCommand):
    help = (
        "Deliver pending audit events to webhook destinations, send Critical-event alerts and "
        "run operators' integrity requests now, working through any backlog, then exit (the "
        "worker does this every minute)."
    )

    def handle(self, *args, **options):
        for name in JOBS:
            try:
                result = getattr(jobs, name)()
            except Exception as error:  # logged by jobs.run, with its traceback
                self.stderr.write(f"{name}: failed ({type(error).__name__}: {error})")
            else:
                self.stdout.write(f"{name}: {result}")

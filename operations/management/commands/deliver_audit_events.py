"""Deliver every pending event to the webhook destinations and send the pending alert mails,
now, then exit: what the worker (`manage.py qcluster`) does every minute, for a one-off run.

    python manage.py deliver_audit_events

Safe beside a running worker: each destination and subscription is worked on by one at a time.
"""

from django.core.management.base import BaseCommand

from operations import jobs


class Command(BaseCommand):
    help = (
        "Deliver pending audit events to webhook destinations and send Critical-event alerts "
        "now, working through any backlog, then exit (the worker does this every minute)."
    )

    def handle(self, *args, **options):
        delivered = jobs.deliver_webhooks()["delivered"]
        mails = jobs.send_alerts()["mails"]
        self.stdout.write(f"Delivered {delivered} events, sent {mails} alert mails.")

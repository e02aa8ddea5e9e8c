"""Link every event that record() left unlinked, now (recording/sequencer.py).

After-commit linkers and the worker's `link_audit_events` job do this continuously; the command
is for a deployment without a worker, or to see what is waiting:

    python manage.py link_audit_events
"""

import json

from django.core.management.base import BaseCommand

from auditlogs.recording import sequencer


class Command(BaseCommand):
    help = "Link every organization's unlinked audit events onto its chain, and print a summary."

    def handle(self, *args, **options):
        result = sequencer.sweep(wait=True)
        self.stdout.write(json.dumps(result, sort_keys=True))
        if result["busy_organizations"] or result["failed_organizations"]:
            self.stderr.write(
                "Some organizations were not linked (busy or failed); run it again, or let "
                "the worker's sweep link them."
            )

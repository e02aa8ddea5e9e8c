"""Run one of the worker's jobs now, in this process, e.g. to sign checkpoints before a backup:

    python manage.py run_job sign_checkpoints
"""

import json

from django.core.management.base import BaseCommand

from operations import jobs, schedule


class Command(BaseCommand):
    help = "Run one of the worker's scheduled jobs now and print its result."

    def add_arguments(self, parser):
        parser.add_argument("job", choices=sorted(schedule.every()))

    def handle(self, *args, job: str, **options):
        result = getattr(jobs, job)()
        self.stdout.write(json.dumps(result, sort_keys=True))

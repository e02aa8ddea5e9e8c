from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, using, **kwargs):
    """What a deployment needs besides its tables, made by `migrate` so no step is forgotten:
    the database cache's table (the default CACHES; nothing for Redis or an existing table)
    and the worker's schedule."""
    from operations import schedule

    call_command("createcachetable", database=using, verbosity=0)
    schedule.install(using)

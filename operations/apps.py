from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        post_migrate.connect(_create_cache_table, sender=self)


def _create_cache_table(sender, using, **kwargs):
    """The database cache (the default CACHES) needs its table; `migrate` makes it, so no
    installation step can be forgotten. Does nothing for Redis or an existing table."""
    call_command("createcachetable", database=using, verbosity=0)

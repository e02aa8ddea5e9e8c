from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate


class AuditlogsConfig(AppConfig):
    name = "auditlogs"
    verbose_name = "Audit Logs"

    def ready(self):
        # System checks, sign-in hooks, the admin pages and the search lookup register
        # themselves on import.
        from auditlogs.integrity import checks  # noqa: F401
        from auditlogs.integrity.guards import refuse_unapplying_migrations
        from auditlogs.storage import search  # noqa: F401  (registers contains_any_case)
        from auditlogs.storage.networks import prepare_connection
        from auditlogs.storage.partitions import create_partitions_after_migrate
        from auditlogs.web import admin, sign_in  # noqa: F401

        pre_migrate.connect(refuse_unapplying_migrations, sender=self)
        post_migrate.connect(create_partitions_after_migrate, sender=self)
        connection_created.connect(prepare_connection)  # e.g. SQLite's IP network function
        # After the partitions, so that new month partitions get their TRUNCATE guard too.
        post_migrate.connect(_reinstall_guards, sender=self)


def _reinstall_guards(sender, using, plan=None, **kwargs):
    """SQLite drops a table's triggers when a migration rebuilds it: put them back."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from auditlogs.integrity import guards

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("auditlogs", "0001_initial") in applied:
        guards.install(connection)

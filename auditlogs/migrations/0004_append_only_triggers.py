"""Append-only triggers on events and checkpoints, PostgreSQL and SQLite (auditlogs/integrity/guards.py)."""

from django.db import migrations

from auditlogs.integrity import guards


def install(apps, schema_editor):
    guards.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    guards.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("auditlogs", "0003_deletiongrant_checkpoint"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]

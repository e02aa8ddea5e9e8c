"""Free-text search indexes (PostgreSQL only): trigram GIN over the labels search reads.

The page's search is `UPPER(label) LIKE UPPER('%text%')` (Django's icontains) over the target
and the actor label. A trigram index answers such a pattern without reading every event of the
organization: `btree_gin` lets the organization lead the index, so one organization's search
reads only its own entries, like every other index of the log (docs/scale.md). Both extensions
are "trusted" since PostgreSQL 13: the database owner may create them. SQLite has no such index;
its search reads the organization's events, which is fine at the sizes SQLite is used for.
"""

from django.db import migrations

INDEXES = {
    "audit_org_target_trgm": "target_label",
    "audit_org_actor_trgm": "actor_label",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "auditlogs_auditevent" '
            f'USING gin ("organization_id", UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("auditlogs", "0004_append_only_triggers"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]

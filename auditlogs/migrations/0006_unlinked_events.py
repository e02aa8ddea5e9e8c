"""Events are inserted unlinked and linked once, after commit, by the sequencer.

record() no longer takes the organization's chain lock: it inserts the event with sequence,
prev_hash and hash empty, and auditlogs/recording/sequencer.py links committed events in short
transactions of their own. This migration makes those three columns nullable, indexes the
sequencer's queue (each organization's unlinked events by id) and replaces the UPDATE refusal
of the event table by the "link once" rule: an UPDATE passes only when it sets the three link
columns of an unlinked event and changes nothing else. A whole-table deletion grant (flush)
now covers unlinked events too. Every statement is frozen here (it imports no app code);
SQLite rebuilt the table for the nullable columns, dropping its triggers, so all four are
created again below.
"""

from django.db import migrations, models

LINK_ONCE_POSTGRESQL = [
    """
CREATE OR REPLACE FUNCTION auditlogs_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_NARGS = 1 AND TG_ARGV[0] = 'link_once' THEN
        IF OLD.sequence IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
            AND NEW.sequence IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
            AND (to_jsonb(NEW) - '{sequence,prev_hash,hash}'::text[])::text
                = (to_jsonb(OLD) - '{sequence,prev_hash,hash}'::text[])::text
        THEN
            RETURN NEW;
        END IF;
    END IF;
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM "auditlogs_deletion_grant" g
        WHERE g.organization_id IS NULL
           OR (g.organization_id = OLD.organization_id AND OLD.sequence <= g.through_sequence)
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit log rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
""",
    'CREATE OR REPLACE TRIGGER "auditlogs_auditevent_append_only" BEFORE UPDATE OR DELETE ON "auditlogs_auditevent" FOR EACH ROW EXECUTE FUNCTION auditlogs_refuse_change(\'link_once\')',
]

# The function and trigger as 0001 made them (the reverse of this migration).
APPEND_ONLY_POSTGRESQL = [
    """
CREATE OR REPLACE FUNCTION auditlogs_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM "auditlogs_deletion_grant" g
        WHERE (g.organization_id IS NULL OR g.organization_id = OLD.organization_id)
          AND OLD.sequence <= g.through_sequence
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit log rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
""",
    'CREATE OR REPLACE TRIGGER "auditlogs_auditevent_append_only" BEFORE UPDATE OR DELETE '
    'ON "auditlogs_auditevent" FOR EACH ROW EXECUTE FUNCTION auditlogs_refuse_change()',
]

_SQLITE_TRIGGERS = [
    "auditlogs_auditevent_no_update", "auditlogs_auditevent_no_delete",
    "auditlogs_checkpoint_no_update", "auditlogs_checkpoint_no_delete",
]
LINK_ONCE_SQLITE = [f'DROP TRIGGER IF EXISTS "{name}"' for name in _SQLITE_TRIGGERS] + [
    'CREATE TRIGGER IF NOT EXISTS "auditlogs_auditevent_no_update" BEFORE UPDATE ON "auditlogs_auditevent" WHEN NOT (OLD."sequence" IS NULL AND NEW."sequence" IS NOT NULL AND OLD."prev_hash" IS NULL AND NEW."prev_hash" IS NOT NULL AND OLD."hash" IS NULL AND NEW."hash" IS NOT NULL AND NEW."id" IS OLD."id" AND NEW."organization_id" IS OLD."organization_id" AND NEW."occurred_at" IS OLD."occurred_at" AND NEW."action" IS OLD."action" AND NEW."severity" IS OLD."severity" AND NEW."project_id" IS OLD."project_id" AND NEW."project_name" IS OLD."project_name" AND NEW."actor_type" IS OLD."actor_type" AND NEW."actor_id" IS OLD."actor_id" AND NEW."actor_label" IS OLD."actor_label" AND NEW."target_type" IS OLD."target_type" AND NEW."target_id" IS OLD."target_id" AND NEW."target_label" IS OLD."target_label" AND NEW."changes" IS OLD."changes" AND NEW."metadata" IS OLD."metadata" AND NEW."ip" IS OLD."ip" AND NEW."user_agent" IS OLD."user_agent" AND NEW."request_id" IS OLD."request_id") BEGIN SELECT RAISE(ABORT, \'audit log rows are append-only: UPDATE on auditlogs_auditevent refused\'); END',
    'CREATE TRIGGER IF NOT EXISTS "auditlogs_auditevent_no_delete" BEFORE DELETE ON "auditlogs_auditevent" WHEN NOT EXISTS (SELECT 1 FROM "auditlogs_deletion_grant" g WHERE g.organization_id IS NULL OR (g.organization_id = OLD.organization_id AND OLD.sequence <= g.through_sequence)) BEGIN SELECT RAISE(ABORT, \'audit log rows are append-only: DELETE on auditlogs_auditevent refused\'); END',
    'CREATE TRIGGER IF NOT EXISTS "auditlogs_checkpoint_no_update" BEFORE UPDATE ON "auditlogs_checkpoint" BEGIN SELECT RAISE(ABORT, \'audit log rows are append-only: UPDATE on auditlogs_checkpoint refused\'); END',
    'CREATE TRIGGER IF NOT EXISTS "auditlogs_checkpoint_no_delete" BEFORE DELETE ON "auditlogs_checkpoint" WHEN NOT EXISTS (SELECT 1 FROM "auditlogs_deletion_grant" g WHERE g.organization_id IS NULL OR (g.organization_id = OLD.organization_id AND OLD.sequence <= g.through_sequence)) BEGIN SELECT RAISE(ABORT, \'audit log rows are append-only: DELETE on auditlogs_checkpoint refused\'); END',
]


def run(statements_by_vendor):
    def execute(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return execute


class Migration(migrations.Migration):

    dependencies = [
        ("auditlogs", "0005_saved_views"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.BigIntegerField(blank=True, help_text="Position in the organization's chain, from 1 (empty until linked).", null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(condition=models.Q(("sequence__isnull", True)), fields=["organization", "id"], name="audit_event_unlinked"),
        ),
        migrations.RunPython(
            run({"postgresql": LINK_ONCE_POSTGRESQL, "sqlite": LINK_ONCE_SQLITE}),
            run({"postgresql": APPEND_ONLY_POSTGRESQL}),
            elidable=False,
        ),
    ]

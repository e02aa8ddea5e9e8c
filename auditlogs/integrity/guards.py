"""Database triggers that make audit events and checkpoints append-only, on PostgreSQL and
SQLite alike.

UPDATE is always refused. DELETE is refused unless a row of `auditlogs_deletion_grant`,
inserted by the same transaction, covers the row: retention grants one organization's events
up to a sequence number, `flush` grants everything (organization NULL). TRUNCATE, which only
`flush` uses, is refused on PostgreSQL without such a whole-table grant. Every refusal is an
IntegrityError naming the table and the operation.

The triggers are written in each database's dialect in auditlogs/storage/backends/. `install`
is idempotent. The initial migration runs its own frozen copy of that SQL; a post_migrate hook
calls `install` because SQLite rebuilds a table (dropping its triggers) whenever a later
migration alters it.

Two commands could still erase every organization's history at once, around the triggers:
`flush` and unapplying this app's migrations (DROP TABLE fires no trigger). Both run only where
`may_erase_history()`: in tests, or where AUDITLOG_ALLOW_ERASING_HISTORY says so.
"""

from django.core import mail
from django.core.management.base import CommandError

from auditlogs.conf import app_settings
from auditlogs.storage.backends import backend
from auditlogs.storage.grants import granted_deletion
from auditlogs.storage.tables import GRANT_TABLE, GUARDED_TABLES, REFUSAL

__all__ = [
    "GRANT_TABLE", "GUARDED_TABLES", "REFUSAL", "granted_deletion", "install",
    "may_erase_history", "missing_triggers", "refuse_unapplying_migrations",
]

ALLOW_SETTING = "AUDITLOG_ALLOW_ERASING_HISTORY"


def install(connection) -> None:
    backend(connection).install_guards(connection)


def missing_triggers(connection) -> list[str]:
    """The guard triggers that are absent or disabled (the verify command warns about them)."""
    database = backend(connection)
    present = database.present_triggers(connection)
    return [name for name in database.guard_trigger_names() if name not in present]


def may_erase_history() -> bool:
    """Only a test run (Django's runner and pytest-django install the test outbox) or an
    explicit AUDITLOG_ALLOW_ERASING_HISTORY. Not DEBUG: it is on by default, so an operator's
    shell on the production database that does not say DEBUG=false has it."""
    return hasattr(mail, "outbox") or bool(app_settings.ALLOW_ERASING_HISTORY)


def refuse_unapplying_migrations(sender, plan=None, **kwargs) -> None:
    """pre_migrate: unapplying an audit migration drops or rebuilds the audit tables, so unless
    may_erase_history() the whole migrate stops before its first step."""
    if may_erase_history():
        return
    backwards = [
        str(migration) for migration, is_backwards in plan or ()
        if is_backwards and migration.app_label == sender.label
    ]
    if backwards:
        raise erasing_refused(f"Unapplying {', '.join(backwards)}")


def erasing_refused(what: str) -> CommandError:
    """The refusal of a command that would erase history where may_erase_history() is false."""
    return CommandError(
        f"{what} is refused: it would erase every organization's audit log, signed "
        "checkpoints and chain heads. It runs only in tests or with "
        f"{ALLOW_SETTING}=true (a development database you mean to empty). Events are "
        "removed only by retention (apply_audit_retention).",
        returncode=1,
    )

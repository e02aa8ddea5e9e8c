"""Django's `flush`, able to empty the append-only audit tables, in tests (or where
AUDITLOG_ALLOW_ERASING_HISTORY says so) only.

`flush` erases every row of every table; it is what test runs use between transactional tests.
The append-only triggers refuse that unless the same transaction holds a whole-table deletion
grant (auditlogs/integrity/guards.py), so this override opens one around Django's own command,
but only in a test run or with AUDITLOG_ALLOW_ERASING_HISTORY on (not DEBUG, which is on by
default: an operator's shell on the production database may well have it). Anywhere else it
would erase every organization's history in one command, so it refuses before touching
anything.
"""

from django.core.management.commands import flush
from django.db import connections, transaction

from auditlogs.integrity.guards import erasing_refused, granted_deletion, may_erase_history


class Command(flush.Command):
    def handle(self, **options):
        if not may_erase_history():
            raise erasing_refused("flush")
        connection = connections[options["database"]]
        with (
            transaction.atomic(using=connection.alias),
            granted_deletion(connection, None, 2**62),
        ):
            return super().handle(**options)

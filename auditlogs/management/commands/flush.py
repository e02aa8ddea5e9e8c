"""Django's `flush`, able to empty the append-only audit tables.

`flush` erases every row of every table; it is what test runs use between transactional tests.
The append-only triggers refuse that unless the same transaction holds a whole-table deletion
grant (auditlogs/integrity/guards.py), so this override opens one around Django's own command.
"""

from django.core.management.commands import flush
from django.db import connections, transaction

from auditlogs.integrity.guards import granted_deletion


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with (
            transaction.atomic(using=connection.alias),
            granted_deletion(connection, None, 2**62),
        ):
            return super().handle(**options)

"""Deletion grants: the one way past the append-only triggers (auditlogs/integrity/guards.py).

A grant is a row of `auditlogs_deletion_grant` that only its own transaction sees; the triggers
let a DELETE through when such a row covers it. Retention grants one organization's events up
to a sequence, `flush` and the partition move (storage/partitions.py) everything. It lives in
storage, beside the tables it opens, so that storage never imports the integrity room.
"""

from auditlogs.storage.tables import GRANT_TABLE


class granted_deletion:  # noqa: N801  (used as a context manager, like transaction.atomic)
    """Inside an open transaction: allow deleting one organization's events up to a sequence
    (or, with organization_id None, every row of the guarded tables) until the block ends."""

    def __init__(self, connection, organization_id: int | None, through_sequence: int):
        self.connection = connection
        self.organization_id = organization_id
        self.through_sequence = through_sequence

    def __enter__(self):
        if not self.connection.in_atomic_block:
            raise RuntimeError("A deletion grant must live inside one transaction.")
        with self.connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{GRANT_TABLE}" (organization_id, through_sequence) VALUES (%s, %s)',
                [self.organization_id, self.through_sequence],
            )
        return self

    def __exit__(self, *exc_info):
        if exc_info[0] is not None:
            return False  # the enclosing transaction rolls back, grant included
        with self.connection.cursor() as cursor:
            cursor.execute(f'DELETE FROM "{GRANT_TABLE}"')
        return False

"""Everything that differs between the databases the audit log runs on, behind one interface.

`backend(connection)` returns the `DatabaseBackend` for a connection (the default one when
omitted): `postgresql.PostgreSQL` or `sqlite.SQLite`. The rest of the code asks it what the
database can do (COPY, partitions, SKIP LOCKED, index-order plans) and lets it run the few
statements written in a database's own dialect (the append-only triggers, the verifier's
window of events). No module outside this package branches on `connection.vendor`.
"""

from django.db import connection as default_connection

from auditlogs.storage.backends.base import DatabaseBackend
from auditlogs.storage.backends.postgresql import PostgreSQL
from auditlogs.storage.backends.sqlite import SQLite

__all__ = ["DatabaseBackend", "backend", "is_postgresql"]

_BY_VENDOR = {backend.vendor: backend for backend in (PostgreSQL(), SQLite())}


def backend(connection=None) -> DatabaseBackend:
    connection = default_connection if connection is None else connection
    try:
        return _BY_VENDOR[connection.vendor]
    except KeyError:
        raise NotImplementedError(
            f"The audit log runs on PostgreSQL or SQLite, not on {connection.vendor}."
        ) from None


def is_postgresql(connection=None) -> bool:
    """For tests and commands that only make sense on PostgreSQL (partitions, COPY, plans)."""
    return isinstance(backend(connection), PostgreSQL)

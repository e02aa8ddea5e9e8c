"""SQLite: one plain table, batched INSERTs, one worker, triggers written in SQLite's dialect."""

import ipaddress

from auditlogs.recording import event_form
from auditlogs.storage.backends.base import DatabaseBackend
from auditlogs.storage.tables import EVENT_TABLE, GRANT_TABLE, GUARDED_TABLES, LINK_COLUMNS, REFUSAL

_GRANT_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS "{GRANT_TABLE}" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "organization_id" bigint NULL,
    "through_sequence" bigint NOT NULL
)
"""


# Every column of the event table but the link's: unchanged by the one UPDATE allowed.
EVENT_CONTENT_COLUMNS = (
    "id", "organization_id", *(name for name in event_form.NAMES if name not in LINK_COLUMNS)
)

# The sequencer's link of an unlinked event: the three link columns set, nothing else changed.
LINK_ONCE = " AND ".join(
    [f'OLD."{name}" IS NULL AND NEW."{name}" IS NOT NULL' for name in LINK_COLUMNS]
    + [f'NEW."{name}" IS OLD."{name}"' for name in EVENT_CONTENT_COLUMNS]
)
# A whole-table grant (flush) covers every row; an organization's, its events to a sequence.
_GRANTED = (
    f'EXISTS (SELECT 1 FROM "{GRANT_TABLE}" g WHERE g.organization_id IS NULL '
    "OR (g.organization_id = OLD.organization_id AND OLD.sequence <= g.through_sequence))"
)


def _table_triggers(table: str) -> list[str]:
    allowed_update = f"WHEN NOT ({LINK_ONCE}) " if table == EVENT_TABLE else ""
    return [
        f'CREATE TRIGGER IF NOT EXISTS "{table}_no_update" BEFORE UPDATE ON "{table}" '
        f"{allowed_update}"
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE on {table} refused'); END",
        f'CREATE TRIGGER IF NOT EXISTS "{table}_no_delete" BEFORE DELETE ON "{table}" '
        f"WHEN NOT {_GRANTED} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE on {table} refused'); END",
    ]


_IN_NETWORK = "auditlogs_in_network"
# Python's case folding: SQLite's own LIKE, lower() and upper() fold ASCII letters only.
CASEFOLD = "auditlogs_casefold"


def _in_network(address: str | None, network: str) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network)
    except ValueError:
        return False


class SQLite(DatabaseBackend):
    vendor = "sqlite"
    bulk_writes_by_copy = False
    exports_by_copy = False
    has_partitions = False
    skips_locked_rows = False
    plans_in_index_order = False
    reads_from_worker_processes = False

    guard_trigger_kinds = ("no_update", "no_delete")

    def is_lock_timeout(self, error: Exception) -> bool:
        # Another writer kept the database locked past the busy timeout.
        return "database is locked" in str(error)

    def in_network_sql(self, address_sql: str, network_sql: str) -> str:
        return f"{_IN_NETWORK}({address_sql}, {network_sql})"  # addresses are stored as text

    def contains_any_case_sql(self, lookup, compiler, connection):
        # SQLite's LIKE folds ASCII letters only ("éclair" missed "Éclair"): the column is
        # case-folded by Python, the text once here.
        lhs, lhs_params = lookup.process_lhs(compiler, connection)
        return f"instr({CASEFOLD}({lhs}), %s) > 0", [*lhs_params, str(lookup.rhs).casefold()]

    def prepare_connection(self, connection) -> None:
        connection.connection.create_function(_IN_NETWORK, 2, _in_network, deterministic=True)
        connection.connection.create_function(CASEFOLD, 1, _casefold, deterministic=True)

    def guard_statements(self, connection) -> list[str]:
        statements = [_GRANT_TABLE_SQL]
        for table in GUARDED_TABLES:
            statements += _table_triggers(table)
        return statements

    def present_triggers(self, connection) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            return {name for (name,) in cursor.fetchall()}


def _casefold(text):
    return None if text is None else str(text).casefold()

"""The interface every database backend implements (see backends/__init__.py)."""

from django.db import connection
from django.db.models.lookups import IContains

from auditlogs.recording.event_form import NAMES, rendered
from auditlogs.storage.tables import CHAIN_HEAD_TABLE, EVENT_TABLE, GUARDED_TABLES


class DatabaseBackend:
    vendor: str
    # bulk.write: rows go in by COPY (else batched INSERTs).
    bulk_writes_by_copy: bool
    # Exports: the database formats and streams the rows itself (COPY ... TO STDOUT).
    exports_by_copy: bool
    # The event table may be range-partitioned by month.
    has_partitions: bool
    # SELECT ... FOR UPDATE SKIP LOCKED, so several workers can share the destinations.
    skips_locked_rows: bool
    # Search may plan newest-first from an index under a time budget (search.py).
    plans_in_index_order: bool
    # Other processes, each with a connection of its own, can read the same events (the
    # verifier's windows walked by worker processes; SQLite walks them in one process).
    reads_from_worker_processes: bool

    # The suffixes of the triggers the guards put on each guarded table.
    guard_trigger_kinds: tuple[str, ...]

    def guard_statements(self, connection) -> list[str]:
        """The deletion-grant table and the append-only triggers, idempotent."""
        raise NotImplementedError

    def install_guards(self, connection) -> None:
        _execute(connection, self.guard_statements(connection))

    def guard_trigger_names(self) -> list[str]:
        """Every trigger the guards install on the guarded tables."""
        return [f"{table}_{kind}" for table in GUARDED_TABLES for kind in self.guard_trigger_kinds]

    def present_triggers(self, connection) -> set[str]:
        """The names of the enabled triggers in the database."""
        raise NotImplementedError

    def prepared_cursor(self, connection=connection):
        """A cursor for the few statements run over and over with new values (record()'s
        INSERT, the sequencer's reads and writes): where the database plans a statement
        anew every time, each is planned once per connection instead. SQLite's driver
        keeps its compiled statements already: a plain cursor."""
        return connection.cursor()

    # Lock waits. Where rows are not locked (SQLite), writers queue on the database's busy
    # timeout (DATABASES OPTIONS "timeout") instead, and nothing here changes anything.

    def lock_chain_head(self, organization_id: int, *, wait_ms: int | None) -> tuple | None:
        """(sequence, hash, scan_from) of the organization's chain head, its row locked until
        the transaction ends; None when it has none; (None, None, None) when (wait_ms None:
        SKIP LOCKED) another transaction holds it. With wait_ms the lock, and any other the
        rest of the transaction meets, is waited for at most that long. Without row locks
        (SQLite: its write transactions are serialized) the head is only read."""
        with self.prepared_cursor() as cursor:
            cursor.execute(
                f'SELECT sequence, hash, scan_from FROM "{CHAIN_HEAD_TABLE}" '
                "WHERE organization_id = %s",
                [organization_id],
            )
            return cursor.fetchone()

    def has_unlinked_events(self, organization_id: int, from_id: int) -> bool:
        """Whether an unlinked event of the organization with an id from `from_id` on exists
        (the partial index's entries from that id)."""
        with self.prepared_cursor() as cursor:
            cursor.execute(
                f'SELECT 1 FROM "{EVENT_TABLE}" WHERE organization_id = %s '
                "AND sequence IS NULL AND id >= %s LIMIT 1",
                [organization_id, from_id],
            )
            return cursor.fetchone() is not None

    def bound_lock_waits_now(self, timeout_ms: int) -> None:
        """The rest of the current transaction waits at most timeout_ms for any lock."""

    def is_lock_timeout(self, error: Exception) -> bool:
        """Whether a database error is a lock wait that ran out (or a NOWAIT refused)."""
        return False

    def claim_for_transaction(self, name: str) -> bool:
        """Claim `name` until the current transaction ends, without waiting: False when
        another transaction holds it. Where write transactions are serialized (SQLite's
        BEGIN IMMEDIATE) every claim succeeds: the transaction itself is the claim."""
        return True

    def in_network_sql(self, address_sql: str, network_sql: str) -> str:
        """SQL true when the address column is inside the network (text like 10.0.0.0/8)."""
        raise NotImplementedError

    def contains_any_case_sql(self, lookup, compiler, connection) -> tuple[str, list]:
        """SQL of `label__contains_any_case=text` (storage/search.py): Django's `icontains`
        (UPPER ... LIKE, the SQL the trigram indexes are built for on PostgreSQL)."""
        return IContains(lookup.lhs, lookup.rhs).as_sql(compiler, connection)

    def prepare_connection(self, connection) -> None:
        """Called for every new connection (what the database lacks, added per connection)."""

    def child_tables(self, connection, table: str) -> list[str]:
        """The partitions of a table ([] where there are none)."""
        return []

    def chain_window(self, events, organization_id: int, low: int, high: int, columns):
        """The organization's events with low <= sequence <= high in (sequence, id) order, as
        tuples of `columns`, read the verifier's way (integrity/verification.py `COLUMNS`)."""
        window = events.filter(sequence__gte=low, sequence__lte=high)
        return window.order_by("sequence", "id").values_list(*columns)

    def rendered_chain_window(self, events, organization_id: int, low: int, high: int) -> list:
        """The events of `chain_window` as the verifier's fast pass reads them: tuples of the
        id, the event rendered (event_form.rendered), prev_hash and hash, in sequence order,
        events sharing a sequence (a broken chain) in any order among themselves, where that
        reads faster (integrity/chain_walk.py `read_and_walk`). Rendered here in Python;
        PostgreSQL renders them in its SQL."""
        window = events.filter(sequence__gte=low, sequence__lte=high).order_by("sequence")
        return [
            (row["id"], *rendered(row), row["prev_hash"], row["hash"])
            for row in window.values("id", *NAMES, "prev_hash", "hash")
        ]

    # The sequencer (auditlogs/recording/sequencer.py).

    def unlinked_events(
        self, events, organization_id: int, limit: int, columns, *, from_id: int = 0
    ) -> list:
        """The organization's unlinked events from id `from_id` on, in id order, at most
        `limit`, as tuples of `columns` read the way the verifier reads them (so what is
        linked verifies)."""
        unlinked = events.unlinked().filter(organization_id=organization_id, id__gte=from_id)
        return list(unlinked.order_by("id").values_list(*columns)[:limit])

    def link_events(
        self, connection, organization_id: int, links: list[tuple], move_head: tuple | None = None
    ) -> tuple[int, bool | None]:
        """Write (id, occurred_at, sequence, prev_hash, hash) links onto events still unlinked
        and, with `move_head` ((sequence, hash) the head must be at, (sequence, hash,
        scan_from) to move it to), move the chain head after them. Returns how many rows were
        linked (fewer: another linker was first) and whether the head moved (None when not
        asked)."""
        with self.prepared_cursor(connection) as cursor:
            cursor.executemany(
                f'UPDATE "{EVENT_TABLE}" SET sequence = %s, prev_hash = %s, hash = %s '
                "WHERE id = %s AND organization_id = %s AND sequence IS NULL",
                [(sequence, prev, digest, pk, organization_id)
                 for pk, _, sequence, prev, digest in links],
            )
            written = cursor.rowcount
            if move_head is None:
                return written, None
            start, to = move_head
            cursor.execute(MOVE_HEAD_SQL, [*to, organization_id, *start])
            return written, cursor.rowcount == 1


MOVE_HEAD_SQL = (
    f'UPDATE "{CHAIN_HEAD_TABLE}" SET sequence = %s, hash = %s, scan_from = %s '
    "WHERE organization_id = %s AND sequence = %s AND hash = %s"
)


def _execute(connection, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)

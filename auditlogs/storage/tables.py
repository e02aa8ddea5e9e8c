"""The names of the audit tables that hand-written SQL refers to (triggers, COPY, partitions)."""

EVENT_TABLE = "auditlogs_auditevent"
CHECKPOINT_TABLE = "auditlogs_checkpoint"
GRANT_TABLE = "auditlogs_deletion_grant"
CHAIN_HEAD_TABLE = "auditlogs_chainhead"
# Append-only: UPDATE refused (but an event's one link, below), DELETE only under a deletion
# grant (integrity/guards.py).
GUARDED_TABLES = (EVENT_TABLE, CHECKPOINT_TABLE)
# The columns the sequencer sets, once, on an event record() inserted without them; the
# triggers allow that UPDATE and no other (every other column unchanged).
LINK_COLUMNS = ("sequence", "prev_hash", "hash")
REFUSAL = "audit log rows are append-only"

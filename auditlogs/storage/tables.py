"""The names of the audit tables that hand-written SQL refers to (triggers, COPY, partitions)."""

EVENT_TABLE = "auditlogs_auditevent"
CHECKPOINT_TABLE = "auditlogs_checkpoint"
GRANT_TABLE = "auditlogs_deletion_grant"
# Append-only: UPDATE always refused, DELETE only under a deletion grant (integrity/guards.py).
GUARDED_TABLES = (EVENT_TABLE, CHECKPOINT_TABLE)
REFUSAL = "audit log rows are append-only"

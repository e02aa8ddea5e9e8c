"""Storage: month partitions, bulk writes, free-text search and one backend module per database.

Owns how events sit in the database and every difference between PostgreSQL and SQLite. May
import `auditlogs.recording` (to chain bulk rows); nothing from the web room or the other apps.
Map: docs/architecture.md.
"""

"""Integrity: append-only guards, checkpoints and their signing key, verification, retention,
the page's integrity line.

Owns the promise that history cannot change or disappear unnoticed. May import
`auditlogs.recording` (the chain's definition) and `auditlogs.storage`; never the web room,
`orgs` only to name organizations in commands. Map: docs/architecture.md.
"""

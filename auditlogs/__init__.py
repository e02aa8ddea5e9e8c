"""Audit Logs. `record(...)` is the one entry point that writes events."""


def record(action, **kwargs):
    from auditlogs.recorder import record as _record

    return _record(action, **kwargs)

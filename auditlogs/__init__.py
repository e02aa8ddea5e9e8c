"""Audit Logs: one Django app in rooms by concern (docs/architecture.md is the map).

`auditlogs.record(...)` is the one public way to write an event; `record_once_a_day` is the
same for reads that would flood the log if recorded on every request.
"""


def record(action, **kwargs):
    from auditlogs.recording.recorder import record as _record

    return _record(action, **kwargs)


def record_once_a_day(action, **kwargs):
    from auditlogs.recording.recorder import record_once_a_day as _record_once_a_day

    return _record_once_a_day(action, **kwargs)

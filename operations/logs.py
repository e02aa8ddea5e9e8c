"""Every log line names the request (or worker job run) it belongs to.

`RequestContextFilter` adds three fields to each record, read from the audit context that
`AuditContextMiddleware` opens for a request and `jobs.run` opens for a worker job:

    request_id    the id stored on every event the request or job records (X-Request-ID)
    organization  the slug of the organization the request is about (from the URL) or the one
                  a job is working on (`about(...)`); null when there is none
    actor         "user:<email>", "staff:<email>", "system:<job>", ...; null outside a request
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar

from auditlogs.recording.context import active_context

_organization: ContextVar[str | None] = ContextVar("log_organization", default=None)


@contextmanager
def about(organization_slug: str):
    """Name `organization_slug` on the log lines of the enclosed block (a job's per-organization
    step)."""
    token = _organization.set(organization_slug)
    try:
        yield
    finally:
        _organization.reset(token)


def organization_of(request) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.kwargs.get("org_slug") if match is not None else None


def actor_of(context) -> str | None:
    user = getattr(context.request, "user", None)
    if context.actor is None and (user is None or not user.is_authenticated):
        return None  # an anonymous request: nobody to name yet
    actor = context.current_actor()
    return f"{actor.type}:{actor.label}"


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = active_context()
        record.request_id = context.request_id if context else None
        record.organization = _organization.get() or (
            organization_of(context.request) if context else None
        )
        record.actor = actor_of(context) if context else None
        return True

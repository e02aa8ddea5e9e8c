"""Who is acting and from where, for the events recorded while a request or command runs.

The middleware fills it for web requests; commands and jobs use `acting_as(...)`. Without
either, events are recorded as the system.
"""

import ipaddress
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from auditlogs.conf import app_settings


class ActorType:
    USER = "user"
    STAFF = "staff"
    SYSTEM = "system"
    API = "api"
    CHOICES = [(USER, "User"), (STAFF, "Support staff"), (SYSTEM, "System"), (API, "API")]


@dataclass(frozen=True)
class Actor:
    type: str
    id: int | None
    label: str

    @classmethod
    def for_user(cls, user, actor_type: str = ActorType.USER) -> "Actor":
        return cls(type=actor_type, id=user.pk, label=user.email)

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(type=ActorType.SYSTEM, id=None, label=label)


@dataclass
class AuditContext:
    actor: Actor | None = None
    request: object | None = None
    ip: str | None = None
    user_agent: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Pinned only by the demo seed and imports, which replay history at its own times.
    occurred_at: datetime | None = None

    def current_actor(self) -> Actor:
        if self.actor is not None:
            return self.actor
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return Actor.for_user(user)
        return Actor.system()


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
USER_AGENT_MAX = 512


def current_context() -> AuditContext:
    return _current.get() or AuditContext()


@contextmanager
def using_context(context: AuditContext):
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def acting_as(actor: Actor, at: datetime | None = None):
    """Record the events of the enclosed block as done by `actor` (commands, jobs, support),
    optionally at a pinned time (the demo seed replays history)."""
    outer = current_context()
    inner = AuditContext(
        actor=actor,
        request=outer.request,
        ip=outer.ip,
        user_agent=outer.user_agent,
        request_id=outer.request_id,
        occurred_at=at or outer.occurred_at,
    )
    with using_context(inner):
        yield inner


def context_from_request(request) -> AuditContext:
    incoming_id = request.headers.get("X-Request-ID", "")
    return AuditContext(
        request=request,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
        request_id=incoming_id if _REQUEST_ID.match(incoming_id) else uuid.uuid4().hex,
    )


def client_ip(request) -> str | None:
    candidates = []
    if app_settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.headers.get("X-Forwarded-For", "")
        candidates.append(forwarded.split(",")[0].strip())
    candidates.append(request.META.get("REMOTE_ADDR", ""))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None

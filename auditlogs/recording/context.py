"""Who is acting and from where, for the events recorded while a request or command runs.

The middleware fills it for web requests; commands and jobs use `acting_as(...)`. Without
either, events are recorded as the system.
"""

import functools
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

# A request id from the proxy in front: 16 to 64 letters, digits, dots, dashes or underscores
# (a UUID, with or without dashes, fits). Anything else is replaced by a fresh one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{15,63}")
USER_AGENT_MAX = 512


def current_context() -> AuditContext:
    return _current.get() or AuditContext()


def active_context() -> AuditContext | None:
    """The context of the request or job being served, if any (logs name its request id)."""
    return _current.get()


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
    return AuditContext(
        request=request,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
        request_id=_request_id(request),
    )


def _request_id(request) -> str:
    """The proxy's `X-Request-ID` when one of our proxies stands in front and the id has a
    sane form; otherwise a fresh one (a client must not choose the id the log stores)."""
    incoming = request.headers.get("X-Request-ID", "")
    if _behind_trusted_proxy(request) and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def client_ip(request) -> str | None:
    """The address of whoever sent the request, as the nearest untrusted hop saw it.

    Proxies append the address they received from to `X-Forwarded-For`, so only the entries
    added by our own proxies can be believed, read from the right: with
    `AUDITLOG_TRUSTED_PROXY_COUNT = n`, the n-th entry from the right; with
    `AUDITLOG_TRUSTED_PROXIES` (networks), the rightmost entry not inside them. The leftmost
    entry is whatever the client wrote and is never taken on its own.
    """
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if not _behind_trusted_proxy(request):
        return peer
    hops = [_address(entry) for entry in request.headers.get("X-Forwarded-For", "").split(",")]
    hops = [hop for hop in hops if hop is not None]
    count = app_settings.TRUSTED_PROXY_COUNT
    if count:
        # The peer is our outermost proxy; each of the other count - 1 appended one entry.
        return hops[-count] if len(hops) >= count else peer
    networks = _trusted_networks()
    for hop in reversed(hops):
        if not any(ipaddress.ip_address(hop) in network for network in networks):
            return hop
    return hops[0] if hops else peer


def _behind_trusted_proxy(request) -> bool:
    if app_settings.TRUSTED_PROXY_COUNT:
        return True
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and any(
        ipaddress.ip_address(peer) in network for network in _trusted_networks()
    )


@functools.cache
def _networks(specs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(spec, strict=False) for spec in specs)


def _trusted_networks() -> tuple:
    return _networks(tuple(app_settings.TRUSTED_PROXIES))


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None

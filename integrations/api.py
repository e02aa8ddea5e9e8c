"""The read API: `GET /api/v1/orgs/<slug>/audit-events` and `…/checkpoints`, authenticated by
organization tokens.

The same viewer rules and FilterSet as the Audit Logs page; the OpenAPI description is served
at /api/v1/openapi.json (and browsable at /api/v1/docs). Fields: docs/integrations.md. The
signed checkpoints let a customer keep its own witness of the log (docs/integrity.md).
"""

from dataclasses import dataclass
from datetime import UTC
from typing import Annotated

from django.utils.cache import add_never_cache_headers
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from auditlogs import record_once_a_day
from auditlogs.conf import app_settings
from auditlogs.integrity.checkpoints import SignedStatement
from auditlogs.models import Checkpoint
from auditlogs.recording.context import Actor, ActorType
from auditlogs.web.access import LogViewer
from auditlogs.web.filters import AuditEventFilter, read_flag
from auditlogs.web.paging import OLDER, Cursor, InvalidCursor
from config import ratelimit
from integrations.models import ApiToken
from integrations.serializers import FIELDS, event_dict


class AuditLogsApi(NinjaAPI):
    def create_response(self, request, data, *args, **kwargs):
        """Every answer, errors included: events and addresses stay out of caches."""
        response = super().create_response(request, data, *args, **kwargs)
        add_never_cache_headers(response)
        return response


api = AuditLogsApi(
    title="Audit Logs API",
    version="1",
    description=(
        "Read an organization's audit events with an organization API token "
        "(`Authorization: Bearer <token>`), created by its admins in Settings → API tokens."
    ),
    urls_namespace="api_v1",
)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class OrganizationToken(HttpBearer):
    def authenticate(self, request, token):
        return ApiToken.objects.authenticate(token.strip())


class ErrorOut(Schema):
    detail: str = Field(description="What went wrong, in words.")
    parameter: str | None = Field(None, description="The query parameter at fault, for 400.")


ERRORS = {status: ErrorOut for status in (400, 401, 403, 404, 429)}


class EventOut(Schema):
    id: int = Field(description="Unique id of the event.")
    organization_id: int
    sequence: int = Field(description="Position in the organization's hash chain, from 1.")
    occurred_at: str = Field(
        description="UTC, ISO 8601 with microseconds, e.g. 2026-11-27T14:01:09.123456Z."
    )
    action: str = Field(description="Catalogue key, e.g. chatbot.deleted.")
    label: str = Field(description="Human label of the action, e.g. Chatbot deleted.")
    severity: str = Field(description="info, warning or critical.")
    project_id: int | None
    project_name: str = Field(description="The project's name when the event happened.")
    actor_type: str = Field(description="user, staff, system or api.")
    actor_id: int | None
    actor_label: str = Field(description="E-mail of the person (at the time), or a name.")
    target_type: str
    target_id: str
    target_label: str
    changes: dict = Field(description="{field: [before, after]}, secrets masked.")
    metadata: dict
    ip: str | None
    user_agent: str
    request_id: str
    prev_hash: str = Field(description="Hash of the previous event of the organization.")
    hash: str = Field(description="SHA-256 chain hash of this event (see the docs).")


class EventPage(Schema):
    events: list[EventOut]
    next: str | None = Field(
        description="Opaque cursor of the next (older) page; null on the last page."
    )


def _flag(value) -> bool:
    """A yes/no parameter read as the page reads it, so both accept the same words."""
    try:
        return read_flag(value)
    except ValueError as error:  # its sentence as the 400's detail, without pydantic's prefix
        raise PydanticCustomError("flag", str(error)) from None


Flag = Annotated[bool, BeforeValidator(_flag)]


class EventQuery(Schema):
    severity: list[str] = Field(
        default_factory=list, description="info, warning or critical; may repeat."
    )
    project: str | None = Field(None, description="A project id.")
    range: str | None = Field(
        None, description="24h, 7d, 30d, 90d or all; the whole log unless range, start or end."
    )
    start: str | None = Field(None, description="ISO date or date-time (UTC unless an offset).")
    end: str | None = Field(None, description="ISO date (whole day) or date-time, exclusive.")
    action: str | None = Field(None, description="A catalogue key such as project.deleted.")
    actor: str | None = Field(None, description="Part of the actor label (e-mail), any case.")
    actor_type: str | None = Field(None, description="user, api, staff or system.")
    hide_views: Flag = Field(
        False, description="Leave out reads (*.viewed events): 1 or 0 (or true/false, on/off, "
        "yes/no)."
    )
    q: str | None = Field(
        None,
        description="Free text in the target, actor or event type, and the query language: "
        "actor:, target:, action: (with *), severity: (>=warning), project:, actor_type:, "
        "ip: (a network), created: (a..b), a leading - to exclude; e.g. "
        "`action:chatbot.* severity:>=warning created:2026-11-01..2026-11-15`.",
    )
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    limit: int = Field(100, ge=1, le=500, description="Events per page, 1 to 500.")


class CheckpointOut(Schema):
    type: str = Field(
        description="auditlogs.checkpoint, or auditlogs.retention_cut for the checkpoint at "
        "the last event a retention run removed."
    )
    version: int
    organization: int = Field(description="The organization's id.")
    sequence: int = Field(description="The event the checkpoint vouches for.")
    head_hash: str = Field(description="The hash of that event.")
    signed_at: str = Field(description="UTC, ISO 8601 with microseconds.")
    retention_days: int | None = Field(None, description="Retention cuts: the policy.")
    cutoff: str | None = Field(None, description="Retention cuts: events before it were due.")
    key_id: str = Field(description="First 16 hex digits of SHA-256 over the public key.")
    signature: str = Field(description="Base64 Ed25519 signature of the canonical JSON of "
                           "the statement's other keys (docs/integrity.md).")


class CheckpointPage(Schema):
    checkpoints: list[CheckpointOut]
    next: int | None = Field(
        description="Pass it as `after` for the next (newer) page; null on the last page."
    )


class CheckpointQuery(Schema):
    after: int = Field(0, ge=0, description="The `next` value of the previous page.")
    limit: int = Field(500, ge=1, le=1000, description="Checkpoints per page, 1 to 1000.")


@dataclass(frozen=True)
class _ApiReader:
    """Who reads through a token: the whole organization, dates without an offset in UTC."""

    timezone: str = "UTC"


@api.get(
    "/orgs/{slug}/audit-events",
    auth=OrganizationToken(),
    response={200: EventPage, **ERRORS},
    summary="List audit events, newest first",
    tags=["Audit events"],
)
def list_audit_events(request, slug: str, params: Query[EventQuery]):
    """Pages of the organization's events with the Audit Logs page's filters. Follow `next`
    until it is null; pages stay stable while new events arrive (they appear on a new first
    page, never shifting the pages you are reading)."""
    token = _token_for(request, slug)
    organization = token.organization
    viewer = LogViewer(organization, _ApiReader(), None, None, None)
    data = request.GET.copy()
    for name in ("cursor", "limit"):
        data.pop(name, None)
    if not any(name in data for name in ("range", "start", "end")):
        data["range"] = "all"  # an API reader pulls the whole log unless it asks for a window
    filters = AuditEventFilter(data, viewer=viewer)
    filters.queryset = filters.queryset.linked()  # each event with its place in the chain
    if not filters.is_valid():
        name, errors = next(iter(filters.form.errors.items()))
        raise ApiError(400, f"{name}: {' '.join(errors)}", {"parameter": name})
    cursor = None
    if params.cursor:
        try:
            cursor = Cursor.decode(params.cursor)
        except InvalidCursor:
            cursor = None
        if cursor is None or cursor.direction != OLDER:
            raise ApiError(400, "cursor: not a cursor from this API; start again without it.",
                           {"parameter": "cursor"})
    page = filters.page(cursor, params.limit)
    _note_daily_read(token)
    return {
        "events": [event_dict(tuple(getattr(e, f) for f in FIELDS)) for e in page.rows],
        "next": page.older.encode() if page.older else None,
    }


@api.get(
    "/orgs/{slug}/checkpoints",
    auth=OrganizationToken(),
    response={200: CheckpointPage, **ERRORS},
    summary="List signed checkpoints, oldest first",
    tags=["Audit events"],
)
def list_checkpoints(request, slug: str, params: Query[CheckpointQuery]):
    """The organization's signed checkpoints in the order they were signed. Keep them: with
    the server's public key they prove later what the log held (docs/integrity.md, "Checking
    a later export against the checkpoints you kept")."""
    token = _token_for(request, slug)
    checkpoints = list(
        Checkpoint.objects.filter(organization_id=token.organization_id, id__gt=params.after)
        .order_by("id")[: params.limit + 1]
    )
    more = len(checkpoints) > params.limit
    checkpoints = checkpoints[: params.limit]
    return {
        "checkpoints": [SignedStatement.of(c).as_json() for c in checkpoints],
        "next": checkpoints[-1].pk if more else None,
    }


def _token_for(request, slug: str) -> ApiToken:
    """The request's token, within its rate limit, for its own Enterprise organization."""
    token: ApiToken = request.auth
    _rate_limit(token)
    if token.organization.slug != slug:
        raise ApiError(404, "No such organization.")
    if not token.organization.has_audit_logs:
        raise ApiError(403, "Audit Logs and their API are available on the Enterprise plan only.")
    token.note_use()
    return token


def _rate_limit(token: ApiToken) -> None:
    """At most AUDITLOG_API_RATE_LIMIT requests per token per window, counted in the shared
    cache, so the limit holds however many processes serve the API."""
    window, limit = app_settings.API_RATE_WINDOW, app_settings.API_RATE_LIMIT
    used = ratelimit.hit(f"api-token:{token.pk}", window)
    if used.over(limit):
        raise ApiError(
            429,
            f"Too many requests: at most {limit} per {window} seconds per token. "
            f"Retry after {used.retry_after} seconds.",
            {"retry_after": used.retry_after},
        )


def _note_daily_read(token: ApiToken) -> None:
    """`audit_log.viewed` once per token per day, as the page does for people."""
    record_once_a_day(
        "audit_log.viewed", organization=token.organization, target=token, tzinfo=UTC,
        actor=Actor(type=ActorType.API, id=token.pk, label=f"API token “{token.name}”"),
    )


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    body = {"detail": exc.detail}
    if "parameter" in exc.headers:
        body["parameter"] = exc.headers["parameter"]
    response = api.create_response(request, body, status=exc.status)
    if "retry_after" in exc.headers:
        response["Retry-After"] = str(exc.headers["retry_after"])
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = api.create_response(
        request,
        {"detail": "A valid organization API token is required: "
                   "send the header Authorization: Bearer <token>."},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="audit-logs"'
    return response


@api.exception_handler(ValidationError)
def _invalid_parameters(request, exc: ValidationError):
    error = exc.errors[0] if exc.errors else {}
    location = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "params")]
    name = location[0] if location else "request"
    message = error.get("msg", "is not valid")
    return api.create_response(
        request, {"detail": f"{name}: {message}", "parameter": name}, status=400
    )

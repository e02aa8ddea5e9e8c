"""How every view of an organization's log starts: resolve the viewer (404 for anyone who may
not read it), stop at the Enterprise gate, and render in the viewer's time zone."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from auditlogs import record_once_a_day
from auditlogs.web.access import log_viewer_for

ENTERPRISE_TEMPLATE = "auditlogs/enterprise_required.html"


def wants_fragment(request) -> bool:
    """HTMX swaps a fragment in, except when restoring history, which needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_for_viewer(request, viewer, template: str, context=None, status: int = 200):
    """Render in the viewer's time zone, inside the Settings frame with Audit Logs current."""
    with timezone.override(viewer.tzinfo):
        context = {"viewer": viewer, "section": "audit_logs", **(context or {})}
        return render(request, template, context, status=status)


def note_daily_read(request, action: str, *, viewer, actor) -> bool:
    """Record a read of the organization's log once per actor per day (`record_once_a_day`).
    The session remembers the day it was noted, so the rest of that day's pages skip the
    lookup (another session still looks, and finds the day's record). True when this request
    looked the day's record up (and so may have written it)."""
    # The zone is part of the day: after a change of time zone the same date is another day.
    today = f"{viewer.timezone_name} {timezone.localdate(timezone=viewer.tzinfo).isoformat()}"
    noted = f"auditlogs.{action}.{viewer.organization.pk}"
    if request.session.get(noted) == today:
        return False
    if record_once_a_day(
        action, organization=viewer.organization, actor=actor, tzinfo=viewer.tzinfo
    ):
        request.session[noted] = today
    # else a writer holds the chain: this page does not wait, a later one records the read
    return True


def log_view(*, page: bool = False):
    """Decorate a view taking (request, viewer, ...) from a URL with `org_slug`.

    Off Enterprise, the Audit Logs page itself (`page=True`) explains the plan with 200;
    every endpoint under it (fragments, details, downloads) refuses with 403.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, org_slug: str, *args, **kwargs):
            viewer = log_viewer_for(request.user, org_slug, request)
            # The page frame (top bar, sidebar) reads these.
            request.organization, request.membership = viewer.organization, viewer.membership
            if not viewer.organization.has_audit_logs:
                status = 200 if page and not wants_fragment(request) else 403
                response = render_for_viewer(request, viewer, ENTERPRISE_TEMPLATE, status=status)
            else:
                response = view(request, viewer, *args, **kwargs)
            # Events, addresses and user agents must not stay in a browser's or proxy's cache.
            add_never_cache_headers(response)
            return response

        return wrapper

    return decorator

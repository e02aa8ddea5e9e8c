"""The Audit Logs page, the Info details of an event, and support staff's access."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from auditlogs.access import EnterpriseRequired, log_viewer_for, require_enterprise
from auditlogs.context import Actor, ActorType
from auditlogs.filters import AuditEventFilter
from auditlogs.forms import SupportAccessForm
from auditlogs.models import AuditEvent, SupportAccess
from auditlogs.paging import Cursor, InvalidCursor, keyset_page
from auditlogs.presenters import present
from auditlogs.recorder import record


def _viewer(request, org_slug: str):
    """The log viewer, also set on the request for the page frame (top bar, sidebar)."""
    viewer = log_viewer_for(request.user, org_slug)
    request.organization, request.membership = viewer.organization, viewer.membership
    return viewer


def _enterprise_page(request, viewer, status=200):
    return render(
        request, "auditlogs/enterprise_required.html", {"viewer": viewer}, status=status
    )


@login_required
@vary_on_headers("HX-Request")
def audit_log(request, org_slug: str):
    viewer = _viewer(request, org_slug)
    try:
        require_enterprise(viewer)
    except EnterpriseRequired:
        return _enterprise_page(request, viewer, status=403 if request.htmx else 200)

    filters = AuditEventFilter(request.GET or None, viewer=viewer)
    cursor, cursor_error = _cursor(request.GET.get("cursor", ""))
    if filters.is_bound and not filters.is_valid():
        page, rows = None, []
    else:
        page = keyset_page(filters.qs, cursor, settings.AUDITLOG_PAGE_SIZE)
        rows = present(page.rows, viewer)
    _note_daily_view(viewer)

    with timezone.override(viewer.tzinfo):
        context = {
            "viewer": viewer,
            "filters": filters,
            "form": filters.form,
            "rows": rows,
            "page": page,
            "cursor_error": cursor_error,
            "updated_at": timezone.localtime(),
            "query": _query_without_cursor(request),
        }
        template = "auditlogs/log.html#results" if request.htmx else "auditlogs/log.html"
        return render(request, template, context)


@login_required
@vary_on_headers("HX-Request")
def event_detail(request, org_slug: str, event_id: int):
    viewer = _viewer(request, org_slug)
    try:
        require_enterprise(viewer)
    except EnterpriseRequired:
        return _enterprise_page(request, viewer, status=403)
    event = get_object_or_404(viewer.events(), pk=event_id)
    (row,) = present([event], viewer)
    with timezone.override(viewer.tzinfo):
        template = (
            "auditlogs/event_detail.html#details" if request.htmx
            else "auditlogs/event_detail.html"
        )
        return render(request, template, {"viewer": viewer, "row": row, "event": event})


@login_required
def support_access(request):
    """Staff choose an organization and state why; the access is recorded in its own log."""
    if not request.user.is_staff:
        raise Http404
    form = SupportAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = form.cleaned_data["organization"]
        minutes = settings.AUDITLOG_SUPPORT_ACCESS_MINUTES
        with transaction.atomic():
            access = SupportAccess.objects.create(
                user=request.user,
                organization=organization,
                reason=form.cleaned_data["reason"],
                expires_at=timezone.now() + timedelta(minutes=minutes),
            )
            record(
                "support.access_granted",
                organization=organization,
                actor=Actor.for_user(request.user, ActorType.STAFF),
                target=request.user,
                metadata={"reason": access.reason, "minutes": minutes},
            )
        return redirect("audit_log", organization.slug)
    recent = SupportAccess.objects.filter(user=request.user).select_related("organization")[:10]
    return render(request, "auditlogs/support_access.html", {"form": form, "recent": recent})


def _cursor(token: str) -> tuple[Cursor | None, str]:
    if not token:
        return None, ""
    try:
        return Cursor.decode(token), ""
    except InvalidCursor as error:
        return None, str(error)


def _query_without_cursor(request) -> str:
    query = request.GET.copy()
    query.pop("cursor", None)
    return query.urlencode()


def _note_daily_view(viewer) -> None:
    """`audit_log.viewed` once per person per day, not per page view (that would flood the
    log). Support access is recorded when it is granted instead."""
    if viewer.is_support:
        return
    start_of_day = timezone.localtime(timezone=viewer.tzinfo).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    seen_today = AuditEvent.objects.filter(
        organization_id=viewer.organization.pk,
        action="audit_log.viewed",
        actor_id=viewer.user.pk,
        occurred_at__gte=start_of_day,
    )
    if not seen_today.exists():
        record("audit_log.viewed", organization=viewer.organization)

"""The Audit Logs page, the Info details of an event, and support staff's access."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from auditlogs import record
from auditlogs.conf import app_settings
from auditlogs.integrity.summary import integrity_summary
from auditlogs.models import SavedView, SupportAccess
from auditlogs.recording.context import Actor, ActorType
from auditlogs.web.chart import volume_chart
from auditlogs.web.filters import AuditEventFilter
from auditlogs.web.forms import SupportAccessForm
from auditlogs.web.paging import (
    NEWER,
    Cursor,
    InvalidCursor,
    count_newer,
    cursor_from_query,
    query_without_cursor,
)
from auditlogs.web.presenters import describe, present
from auditlogs.web.viewing import log_view, note_daily_read, render_for_viewer, wants_fragment

NEW_EVENTS_CAP = 99  # "99+ new events" beyond


@vary_on_headers("HX-Request")
@log_view(page=True)
def audit_log(request, viewer):

    filters = AuditEventFilter(request.GET, viewer=viewer)  # bound: the default range applies
    cursor, cursor_error = cursor_from_query(request.GET.get("cursor", ""))
    if not filters.is_valid():
        page, rows = None, []
    else:
        page = filters.page(cursor, app_settings.PAGE_SIZE)
        rows = present(page.rows, viewer, request.GET)
    viewed_now = _note_daily_view(request, viewer)
    # After the day's view is noted, so the chart counts it with the rest.
    chart = volume_chart(filters, viewer, request.GET, None if cursor else page) if page else None

    fragment = wants_fragment(request)
    saved_views = list(
        SavedView.objects.visible_to(request.user, viewer.organization)
    ) if viewer.membership else []
    for view in saved_views:
        view.organization = viewer.organization  # for its URL: no join to read it again
    return render_for_viewer(
        request,
        viewer,
        "auditlogs/log.html#results" if fragment else "auditlogs/log.html",
        {
            "live_since": _newest_shown(page, cursor_error, viewed_now),
            "poll_seconds": app_settings.NEW_EVENTS_POLL_SECONDS,
            "filters": filters,
            "form": filters.form,
            "rows": rows,
            "page": page,
            "chart": chart,
            "cursor_error": cursor_error,
            "updated_at": timezone.now(),
            "query": query_without_cursor(request.GET),
            "fragment": fragment,
            # Shown above the filters: a fragment swap does not need them.
            "integrity": None if fragment else integrity_summary(viewer.organization),
            "recent_actors": [] if fragment else viewer.recent_actors(),
            # One read for the sidebar's saved views (auditlog_tags) and the person's own.
            "saved_views": saved_views,
            "own_views": [view for view in saved_views if view.owner_id == request.user.pk],
        },
    )


@log_view()
def new_events(request, viewer):
    """Whether events newer than the newest shown have arrived: asked by the open page every
    few seconds while it is visible (static/js/app.js)."""
    filters = AuditEventFilter(request.GET, viewer=viewer)
    try:
        since = Cursor.decode(request.GET.get("since", ""))
    except InvalidCursor:
        return HttpResponseBadRequest("The since parameter is not a valid position in the log.")
    count = count_newer(filters.qs, since, NEW_EVENTS_CAP) if filters.is_valid() else 0
    label = f"{NEW_EVENTS_CAP}+" if count > NEW_EVENTS_CAP else str(count)
    return render_for_viewer(request, viewer, "auditlogs/new_events.html", {
        "count": count, "label": f"{label} new event{'s' if count != 1 else ''}",
    })


@vary_on_headers("HX-Request")
@log_view()
def event_detail(request, viewer, event_id: int):
    event = get_object_or_404(viewer.events(), pk=event_id)
    details = describe(event, viewer, request)
    fragment = wants_fragment(request)
    return render_for_viewer(
        request,
        viewer,
        "auditlogs/event_detail.html#details" if fragment else "auditlogs/event_detail.html",
        {"details": details, "row": details.row, "event": event},
    )


@login_required
def support_access(request):
    """Staff choose an organization and state why; the access is recorded in its own log."""
    if not request.user.is_staff:
        raise Http404
    form = SupportAccessForm(request.POST or None, staff=request.user)
    if request.method == "POST" and form.is_valid():
        organization = form.cleaned_data["organization"]
        minutes = app_settings.SUPPORT_ACCESS_MINUTES
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


def _note_daily_view(request, viewer) -> bool:
    """Support access is recorded when it is granted; people's reads once a day. True when this
    request looked the day's record up, and so may have written it."""
    if viewer.is_support:
        return False
    return note_daily_read(request, "audit_log.viewed", viewer=viewer, actor=viewer.actor)


def _newest_shown(page, cursor_error: str, viewed_now: bool) -> str:
    """On the newest page, where new events would appear: the position of its first row, from
    which the page asks for newer events; or now, when it has none or when this request may have
    just recorded the day's view (the reader's own view is not news to them)."""
    if page is None or page.newer is not None or cursor_error:
        return ""
    if page.rows and not viewed_now:
        return Cursor(page.rows[0].occurred_at, page.rows[0].id, NEWER).encode()
    return Cursor(timezone.now(), 0, NEWER).encode()

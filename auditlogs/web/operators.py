"""The Django admin's event list for operators: one organization at a time, fast at any size.

It starts from an organization (every index of the log leads with it), reads newest first by
keyset like the Audit Logs page (Newer / Older, never OFFSET), and never counts more than
COUNT_CAP rows. Its filters are the page's FilterSet plus exact identifiers (event id, request
id, IP address, target id), each served by an index; the actor filter takes an exact e-mail;
free text is the page's own search (auditlogs/storage/search.py through `page()`).
Reading an organization's events here is recorded in its log once per operator per day.
"""

from dataclasses import dataclass
from datetime import UTC

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from auditlogs.conf import app_settings
from auditlogs.integrity.jobs import request_job
from auditlogs.integrity.verification import IntegrityStatus, integrity_status
from auditlogs.models import AuditEvent, ChainHead, Checkpoint, IntegrityFailure, IntegrityJob
from auditlogs.recording.context import Actor, ActorType
from auditlogs.web.access import LogViewer
from auditlogs.web.filters import AuditEventFilter
from auditlogs.web.paging import cursor_from_query, query_without_cursor
from auditlogs.web.presenters import event_url_maker
from auditlogs.web.viewing import note_daily_read
from orgs.models import Organization

COUNT_CAP = 10_000
ORGANIZATIONS_LISTED = 50
VIEWED_ACTION = "support.admin_viewed"
RECENT_JOBS = 5
RECENT_FAILURES = 5


class EventIdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class IpAddressFilter(django_filters.Filter):
    field_class = forms.GenericIPAddressField


class OperatorEventFilter(AuditEventFilter):
    """The Audit Logs page's filters, plus the exact identifiers operators are handed."""

    event = EventIdFilter(
        label="Event id", field_name="id", min_value=1, max_value=2**63 - 1
    )
    request_id = django_filters.CharFilter(
        label="Request id", field_name="request_id", max_length=64
    )
    ip = IpAddressFilter(label="IP address", field_name="ip")
    target = django_filters.CharFilter(label="Target id", field_name="target_id", max_length=64)

    def __init__(self, data, *, viewer, **kwargs):
        data = data.copy()
        if not any(data.get(name) for name in ("range", "start", "end")):
            data["range"] = "all"  # operators look for a given event, whatever its age
        super().__init__(data, viewer=viewer, **kwargs)
        self.filters["actor"].label = "Actor e-mail"


def operator_viewer(user, organization: Organization) -> LogViewer:
    """An operator reads an organization's whole log (the admin's own permission checks
    decided they may)."""
    return LogViewer(organization, user, None, None, None)


def note_admin_view(request, viewer: LogViewer) -> None:
    """An operator's reading of an organization's events or IP addresses, once a day."""
    actor = Actor.for_user(request.user, ActorType.STAFF)
    note_daily_read(request, VIEWED_ACTION, viewer=viewer, actor=actor)


def capped_count(queryset) -> str:
    """How many rows match, counting at most COUNT_CAP + 1 of them: "10,000+" past that."""
    return capped_label(queryset.order_by()[: COUNT_CAP + 1].count())


def capped_label(found: int) -> str:
    return f"{COUNT_CAP:,}+" if found > COUNT_CAP else f"{found:,}"


def event_list(model_admin, request):
    """The admin's changelist of events: pick an organization, then page its log."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Audit events",
    }
    slug = request.GET.get("org", "")
    organization = Organization.objects.filter(slug=slug).first() if slug else None
    if organization is None:
        return TemplateResponse(
            request, "admin/auditlogs/auditevent/choose_organization.html",
            {**context, **_organization_choice(request.GET.get("find", ""), slug)},
        )
    viewer = operator_viewer(request.user, organization)
    filters = OperatorEventFilter(request.GET, viewer=viewer)
    cursor, cursor_error = cursor_from_query(request.GET.get("cursor", ""))
    page = count = None
    rows = []
    if filters.is_valid():
        # As many rows as the Audit Logs page: a search read newest first stops at a full page.
        page = filters.page(cursor, app_settings.PAGE_SIZE)
        rows = operator_rows(page.rows)
        if not (filters.form.cleaned_data.get("q") or "").strip():
            count = capped_count(filters.qs)
    note_admin_view(request, viewer)
    return TemplateResponse(
        request, "admin/auditlogs/auditevent/operator_list.html",
        {
            **context,
            "title": f"Audit events of {organization.name}",
            "organization": organization,
            "filters": filters,
            "form": filters.form,
            "page": page,
            "rows": rows,
            "count": count,
            "is_nav_sidebar_enabled": False,  # the table needs the width
            "cursor_error": cursor_error,
            "query": query_without_cursor(request.GET),
        },
    )


@dataclass(frozen=True)
class OperatorRow:
    event: AuditEvent
    url: str  # the event's own admin page
    occurred_utc: str


def operator_rows(events: list[AuditEvent]) -> list[OperatorRow]:
    """What the template prints, prepared once per page (one URL reversal, not one a row)."""
    url = event_url_maker("admin:auditlogs_auditevent_change")
    return [
        OperatorRow(event, url(event.pk),
                    event.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
        for event in events
    ]


def _organization_choice(find: str, slug: str) -> dict:
    organizations = Organization.objects.order_by("name", "id")
    find = find.strip()[:100]
    if find:
        organizations = organizations.filter(Q(name__icontains=find) | Q(slug__icontains=find))
    listed = list(organizations.only("name", "slug", "plan")[: ORGANIZATIONS_LISTED + 1])
    return {
        "find": find,
        "organizations": listed[:ORGANIZATIONS_LISTED],
        "more": len(listed) > ORGANIZATIONS_LISTED,
        "unknown_slug": slug,
        "limit": ORGANIZATIONS_LISTED,
    }



class ByOrganizationAdmin:
    """A list the organization's admin page links to with `?organization__id__exact=<id>`,
    without a filter sidebar listing every organization."""

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "organization__id__exact" or super().lookup_allowed(lookup, value, request)


@dataclass(frozen=True)
class ChainStatus:
    head: ChainHead | None
    newest_checkpoint: Checkpoint | None
    integrity: IntegrityStatus
    last_verification: IntegrityJob | None
    jobs: list[IntegrityJob]
    failures: list[IntegrityFailure]  # what verification found, newest first


def chain_status(organization: Organization) -> ChainStatus:
    """What an organization's admin page says about its chain: a few indexed reads."""
    jobs = list(IntegrityJob.objects.filter(organization=organization)[:RECENT_JOBS])
    verifications = IntegrityJob.objects.filter(
        organization=organization, finished_at__isnull=False
    )
    failures = IntegrityFailure.objects.filter(organization_id=organization.pk).order_by(
        "-detected_at", "-id"
    )[:RECENT_FAILURES]
    return ChainStatus(
        head=ChainHead.objects.filter(organization=organization).first(),
        newest_checkpoint=(
            Checkpoint.objects.filter(organization=organization).order_by("-sequence").first()
        ),
        integrity=integrity_status(organization),
        last_verification=verifications.order_by("-finished_at", "-id").first(),
        jobs=jobs,
        failures=list(failures),
    )


class ChainStatusAdmin:
    """Mix into the Organization admin: its page shows the chain's status and links to the
    organization's log, and operators ask the worker to verify or sign a checkpoint there."""

    change_form_template = "admin/orgs/organization/change_form.html"

    def get_urls(self):
        request_job_view = self.admin_site.admin_view(self.integrity_request_view)
        return [
            path(
                "<int:object_id>/integrity/<str:kind>/", request_job_view,
                name="orgs_organization_integrity",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        organization = self.get_object(request, object_id)
        if organization is not None:
            extra_context = {
                **(extra_context or {}),
                "chain": chain_status(organization),
                "job_kinds": IntegrityJob.Kind.choices,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def integrity_request_view(self, request, object_id: int, kind: str):
        organization = self.get_object(request, str(object_id))
        if organization is None:
            raise Http404("No such organization.")
        if not self.has_change_permission(request, organization):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if kind not in IntegrityJob.Kind.values:
            raise Http404("No such integrity request.")
        job = request_job(organization=organization, kind=kind, operator=request.user)
        messages.success(
            request, f"{job.get_kind_display()}: requested; the worker runs it shortly and "
            "its result shows below and in the organization's log.",
        )
        return redirect("admin:orgs_organization_change", organization.pk)

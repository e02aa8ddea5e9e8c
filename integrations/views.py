"""The export download and the Settings pages: API tokens, Log destinations, Alerts."""

from functools import wraps

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from auditlogs import record
from auditlogs.web.filters import AuditEventFilter
from auditlogs.web.viewing import ENTERPRISE_TEMPLATE, log_view
from integrations import exports, forms, services, webhooks
from integrations.models import AlertSubscription, ApiToken, Destination
from orgs.models import Membership
from orgs.tenancy import org_member_required, require


def _export_filters(request, viewer):
    """(the bound FilterSet of the page's query, None) or (None, a 400 naming the problems)."""
    data = request.GET.copy()
    data.pop("cursor", None)
    filters = AuditEventFilter(data, viewer=viewer)  # bound, like the page: same default range
    if not filters.is_valid():
        return None, _not_exported([
            f"{filters.form.fields[name].label if name in filters.form.fields else name}: {error}"
            for name, errors in filters.form.errors.items()
            for error in errors
        ])
    if not exports.planned(filters.qs):
        return None, _not_exported(
            ["The database refused these filters; change the dates and retry."]
        )
    return filters, None


def _not_exported(problems: list[str]) -> HttpResponse:
    return HttpResponse(
        "Nothing was exported: the filters are not valid.\n" + "\n".join(problems) + "\n",
        status=400, content_type="text/plain; charset=utf-8",
    )


def _attachment(response, viewer, exported_at, suffix: str):
    stamp = exported_at.strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-logs-{viewer.organization.slug}-{stamp}.{suffix}"'
    )
    return response


@log_view()
def export(request, viewer, fmt: str):
    if fmt not in exports.FORMATS:
        raise Http404
    filters, refusal = _export_filters(request, viewer)
    if refusal:
        return refusal
    exported_at = timezone.now()
    described = exports.describe_filters(filters)
    record(
        "audit_log.exported",
        organization=viewer.organization,
        actor=viewer.actor,
        metadata={"format": fmt, **described},
    )
    header = exports.export_header(viewer.organization, described, exported_at)
    response = StreamingHttpResponse(
        exports.export_chunks(
            fmt, organization=viewer.organization, events=filters.qs, header=header
        ),
        content_type=exports.FORMATS[fmt],
    )
    if fmt == "csv":
        # A CSV holds only its header row and rows; what it is travels beside it.
        for name in ("exported_at", "filters", "from", "to"):
            response[f"X-Audit-Export-{name.replace('_', '-').title()}"] = header[name] or ""
        manifest = reverse("audit_log_export_manifest", args=[viewer.organization.slug])
        query = request.GET.urlencode()
        response["Link"] = f'<{manifest}{"?" + query if query else ""}>; rel="describedby"'
    return _attachment(response, viewer, exported_at, fmt)


@log_view()
def export_manifest(request, viewer):
    """The CSV export's header and newest signed checkpoint, for the offline verifier."""
    filters, refusal = _export_filters(request, viewer)
    if refusal:
        return refusal
    exported_at = timezone.now()
    header = exports.export_header(
        viewer.organization, exports.describe_filters(filters), exported_at
    )
    response = JsonResponse(exports.export_manifest(viewer.organization, header))
    return _attachment(response, viewer, exported_at, "manifest.json")


def _posted(request):
    """The form data of a POST (even an empty one: an unticked checkbox), else None."""
    return request.POST if request.method == "POST" else None


FEATURES = {"api_tokens": "API tokens", "destinations": "Log destinations", "alerts": "Alerts"}


def settings_page(section: str, *, manage: bool = True):
    """A Settings page of this app: members only (404 otherwise); owners and admins only
    unless `manage` is False (403); off Enterprise the Enterprise page (403 for a change)."""

    def decorator(view):
        @org_member_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if manage:
                require(request.membership.can_manage_organization)
            if request.organization.has_audit_logs:
                return view(request, *args, **kwargs)
            if request.method != "GET":
                return HttpResponse("Available on the Enterprise plan only.", status=403)
            return render(
                request, ENTERPRISE_TEMPLATE, {"section": section, "feature": FEATURES[section]}
            )

        return wrapper

    return decorator


def _keep_for_next_page(request, name: str, value) -> None:
    """Hand `value` to the next page of this organization that takes `name`: a form that creates
    something redirects (a reload must not create it again), and what the page shows only once
    never goes into the URL."""
    request.session[f"{name}:{request.organization.pk}"] = value


def _take_kept(request, name: str):
    """What `_keep_for_next_page` kept under `name`, once: None on every later page."""
    return request.session.pop(f"{name}:{request.organization.pk}", None)


@settings_page("api_tokens")
def api_tokens(request):
    form = forms.ApiTokenForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        _, secret = services.api_token_create(
            organization=request.organization,
            name=form.cleaned_data["name"],
            created_by=request.user,
            expires_in_days=form.cleaned_data["expires_in"],
        )
        _keep_for_next_page(request, "new_api_token_secret", secret)
        return redirect("settings_api_tokens", request.organization.slug)
    tokens = ApiToken.objects.filter(organization=request.organization).select_related(
        "created_by"
    ).annotate(creator_is_member=Exists(Membership.objects.filter(
        organization=request.organization, user=OuterRef("created_by")
    )))
    response = render(
        request,
        "integrations/api_tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "new_secret": _take_kept(request, "new_api_token_secret"),
            "section": "api_tokens",
        },
    )
    response["Cache-Control"] = "no-store"  # the new secret must not linger in caches
    return response


@require_POST
@settings_page("api_tokens")
def api_token_revoke(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, organization=request.organization)
    if services.api_token_revoke(token=token):
        messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("settings_api_tokens", request.organization.slug)


@settings_page("destinations")
def destinations(request):
    form = forms.DestinationForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        destination = services.destination_create(
            organization=request.organization, created_by=request.user, **form.cleaned_data
        )
        # Its id, not its secret: the secret stays in the database, which delivery reads anyway.
        _keep_for_next_page(request, "new_destination_id", destination.pk)
        return redirect("settings_destinations", request.organization.slug)
    organization_destinations = list(
        Destination.objects.filter(organization=request.organization)
        .annotate(next_sequence=Destination.next_sequence_in_log())
    )
    new_id = _take_kept(request, "new_destination_id")
    new_destination = next((d for d in organization_destinations if d.pk == new_id), None)
    response = render(
        request,
        "integrations/destinations.html",
        {
            "form": form,
            "destinations": organization_destinations,
            "new_destination": new_destination,
            "timestamp_header": webhooks.TIMESTAMP_HEADER,
            "signature_header": webhooks.SIGNATURE_HEADER,
            "section": "destinations",
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@settings_page("destinations")
def destination_edit(request, destination_id: int):
    destination = get_object_or_404(
        Destination, pk=destination_id, organization=request.organization
    )
    initial = {"name": destination.name, "url": destination.url,
               "batch_size": destination.batch_size, "paused": destination.is_paused}
    form = forms.DestinationForm(_posted(request), initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        if services.destination_update(destination=destination, **form.cleaned_data):
            messages.success(request, f"“{destination.name}” was saved.")
        return redirect("settings_destinations", request.organization.slug)
    return render(
        request,
        "integrations/destination_edit.html",
        {"form": form, "destination": destination, "section": "destinations"},
    )


@require_POST
@settings_page("destinations")
def destination_delete(request, destination_id: int):
    destination = get_object_or_404(
        Destination, pk=destination_id, organization=request.organization
    )
    services.destination_delete(destination=destination)
    messages.success(request, f"“{destination.name}” was deleted.")
    return redirect("settings_destinations", request.organization.slug)


@settings_page("alerts", manage=False)
def alerts(request):
    subscription = AlertSubscription.objects.filter(membership=request.membership).first()
    enabled = subscription is not None and subscription.critical_events
    form = forms.AlertPreferenceForm(_posted(request), initial={"critical_events": enabled})
    if request.method == "POST" and form.is_valid():
        services.alert_preference_set(
            membership=request.membership, critical_events=form.cleaned_data["critical_events"]
        )
        messages.success(request, "Your alert settings were saved.")
        return redirect("settings_alerts", request.organization.slug)
    return render(
        request,
        "integrations/alerts.html",
        {"form": form, "enabled": enabled, "subscription": subscription, "section": "alerts"},
    )

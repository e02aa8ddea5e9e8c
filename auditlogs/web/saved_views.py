"""Saved views: a person names the current filters of the log; admins may share one with the
organization. They are listed under Audit Logs in the settings sidebar. Saving, sharing and
deleting are events of the log."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from auditlogs import record
from auditlogs.models import SavedView
from auditlogs.web.viewing import log_view

NOT_KEPT = ("cursor", "csrfmiddlewaretoken")  # a view is filters, not a position in them
NAME_MAX_LENGTH = SavedView._meta.get_field("name").max_length
QUERY_MAX_LENGTH = SavedView._meta.get_field("query").max_length


class SavedViewForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        label="Name of this view",
        error_messages={
            "required": "Give the view a name.",
            "max_length": f"Give the view a name of at most {NAME_MAX_LENGTH} characters.",
        },
    )
    # No limit on the text as posted: what is stored is the query re-encoded (an é becomes
    # %C3%A9, the cursor goes), longer or shorter, and clean_query measures that.
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    share = forms.BooleanField(required=False, label="Share with the organization")

    def clean_query(self):
        query = QueryDict(self.cleaned_data["query"], mutable=True)
        for name in NOT_KEPT:
            query.pop(name, None)
        stored = query.urlencode()
        if len(stored) > QUERY_MAX_LENGTH:
            raise forms.ValidationError(
                f"These filters are too long to save as a view: at most {QUERY_MAX_LENGTH:,} "
                f"characters once encoded for the address (these take {len(stored):,}). "
                "Shorten the search text or remove some filters."
            )
        return stored


def _membership(viewer):
    """Saved views belong to people of the organization; support access is read-only."""
    if viewer.membership is None:
        raise PermissionDenied("Support access is read-only.")
    return viewer.membership


@require_POST
@log_view()
def create(request, viewer):
    membership = _membership(viewer)
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("audit_log", viewer.organization.slug)
    share = form.cleaned_data["share"]
    if share:
        _require_sharer(membership)
    with transaction.atomic():
        view = SavedView.objects.create(
            organization=viewer.organization, owner=request.user,
            name=form.cleaned_data["name"], query=form.cleaned_data["query"],
        )
        record("saved_view.created", organization=viewer.organization, target=view,
               metadata={"query": view.query})
        if share:
            _share(view)
    messages.success(request, f"View “{view.name}” saved.")
    return redirect(view.log_url)


@require_POST
@log_view()
def share(request, viewer, view_id: int):
    membership = _membership(viewer)
    view = _own_view(request, viewer, view_id)
    _require_sharer(membership)
    if not view.shared:
        with transaction.atomic():
            _share(view)
    messages.success(request, f"View “{view.name}” is shared with the organization.")
    return redirect(view.log_url)


@require_POST
@log_view()
def delete(request, viewer, view_id: int):
    _membership(viewer)
    view = _own_view(request, viewer, view_id)
    with transaction.atomic():
        record("saved_view.deleted", organization=viewer.organization, target=view)
        view.delete()
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect("audit_log", viewer.organization.slug)


def _require_sharer(membership) -> None:
    if not membership.can_manage_organization:
        raise PermissionDenied("Only owners and admins share views with the organization.")


def _own_view(request, viewer, view_id: int) -> SavedView:
    """A view of this organization that this person saved; anything else is 404."""
    return get_object_or_404(
        SavedView, pk=view_id, organization=viewer.organization, owner=request.user
    )


def _share(view: SavedView) -> None:
    view.shared = True
    view.save(update_fields=["shared"])
    record("saved_view.shared", organization=view.organization, target=view)

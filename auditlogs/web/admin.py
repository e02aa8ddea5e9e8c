"""Django admin for operators: audit events are read-only and never counted in full."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from auditlogs.models import AuditEvent, Checkpoint, IntegrityJob, SupportAccess
from auditlogs.web import operators
from orgs.models import Organization


class CappedCountPaginator(Paginator):
    """Counts at most operators.COUNT_CAP + 1 rows, so a list never counts a whole table; its
    pagination says "10,000+" past the cap (templates/admin/auditlogs/pagination.html)."""

    @cached_property
    def count(self):
        return self.object_list[: operators.COUNT_CAP + 1].count()

    @property
    def shown_count(self) -> str:
        return operators.capped_label(self.count)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only rows: operators browse them; nobody adds, changes or deletes them here."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The list is auditlogs/web/operators.py's: one organization's log, keyset-paged."""

    ordering = ("-occurred_at", "-id")

    def changelist_view(self, request, extra_context=None):
        return operators.event_list(self, request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        event = getattr(response, "context_data", {}).get("original")
        if event is not None:  # an event's page shows its IP address
            organization = Organization.objects.get(pk=event.organization_id)
            viewer = operators.operator_viewer(request.user, organization)
            operators.note_admin_view(request, viewer)
        return response


@admin.register(SupportAccess)
class SupportAccessAdmin(operators.ByOrganizationAdmin, ReadOnlyAdmin):
    """Granted only through /support/, which records the access; never edited here."""

    list_display = ("granted_at", "user", "organization", "expires_at", "reason")
    search_fields = ("user__email", "organization__slug", "reason")
    list_select_related = ("user", "organization")
    ordering = ("-id",)


@admin.register(Checkpoint)
class CheckpointAdmin(operators.ByOrganizationAdmin, ReadOnlyAdmin):
    """Signed checkpoints, read-only like events (the database refuses changes too)."""

    list_display = ("signed_at", "organization", "sequence", "retention_days", "head_hash",
                    "key_id")
    ordering = ("-id",)  # newest first from the primary key, with no sort however many
    list_select_related = ("organization",)


@admin.register(IntegrityJob)
class IntegrityJobAdmin(operators.ByOrganizationAdmin, ReadOnlyAdmin):
    """Operators' verification and checkpoint requests, filed from an organization's page."""

    list_display = ("requested_at", "organization", "kind", "status", "requested_by_label",
                    "finished_at", "result")
    list_filter = ("status", "kind")
    list_select_related = ("organization",)
    ordering = ("-id",)

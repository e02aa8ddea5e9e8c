"""Django admin for operators: audit events are read-only and never counted in full."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from auditlogs.models import AuditEvent, Checkpoint, SupportAccess
from auditlogs.recording.catalogue import EVENT_TYPES

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP rows, so the list never counts a whole table and its deepest
    page is COUNT_CAP / per_page pages in."""

    @cached_property
    def count(self):
        return self.object_list[: COUNT_CAP].count()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only rows: operators browse them; nobody adds, changes or deletes them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActionFilter(admin.SimpleListFilter):
    """Choices from the catalogue, not from a DISTINCT over the whole table."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(t.key, t.label) for t in EVENT_TYPES]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "occurred_at", "organization", "sequence", "action", "severity", "project_name",
        "actor_label", "target_label",
    )
    list_filter = ("severity", ActionFilter, "organization")
    search_fields = ("actor_label", "target_label", "project_name", "request_id", "=action")
    ordering = ("-occurred_at", "-id")
    list_select_related = ("organization",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    date_hierarchy = None


@admin.register(SupportAccess)
class SupportAccessAdmin(admin.ModelAdmin):
    list_display = ("granted_at", "user", "organization", "expires_at", "reason")
    list_filter = ("organization",)
    search_fields = ("user__email", "organization__slug", "reason")
    readonly_fields = ("user", "organization", "reason", "granted_at", "expires_at")

    def has_add_permission(self, request):
        return False  # granted only through /support/, which records the access

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    """Signed checkpoints, read-only like events (the database refuses changes too)."""

    list_display = ("signed_at", "organization", "sequence", "retention_days", "head_hash",
                    "key_id")
    list_filter = ("organization",)
    ordering = ("-signed_at",)
    list_select_related = ("organization",)

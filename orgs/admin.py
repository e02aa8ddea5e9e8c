from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction

from auditlogs.web.operators import ChainStatusAdmin
from auditlogs.web.staff_changes import (
    AuditSpec,
    StaffRecordedAdmin,
    StaffRecordedInline,
    delete_and_record,
)
from orgs.models import Membership, Organization, SecurityLogEntry, User

MEMBERSHIP_AUDIT = AuditSpec(
    organization=lambda membership: membership.organization,
    target=lambda membership: membership.user,
    created="member.added",
    updated="member.role_changed",
    deleted="member.removed",
    field_actions={"projects": "member.projects_changed"},
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_superuser", "is_active", "date_joined")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def delete_model(self, request, obj):
        """A person's memberships go with them: each is a `member.removed` in its
        organization's log, as the operator. Events keep the person's id and e-mail."""
        with transaction.atomic():
            for membership in obj.memberships.select_related("organization", "user"):
                delete_and_record(request, MEMBERSHIP_AUDIT, membership)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            self.delete_model(request, user)


class MembershipInline(StaffRecordedInline, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role")  # projects on the membership's own page, where changes are recorded
    autocomplete_fields = ("user",)
    audit_spec = MEMBERSHIP_AUDIT


@admin.register(Organization)
class OrganizationAdmin(ChainStatusAdmin, StaffRecordedAdmin, admin.ModelAdmin):
    list_display = ("name", "slug", "plan", "timezone", "synthetic_data", "created_at")
    list_filter = ("plan", "synthetic_data")
    search_fields = ("name", "slug")
    readonly_fields = ("created_at",)
    inlines = [MembershipInline]
    # Deleting is not offered: the organization's log would go with it (its events protect
    # it anyway, and its first event is its creation).
    audit_spec = AuditSpec(
        organization=lambda organization: organization,
        created="organization.created",
        updated="organization.updated",
        field_actions={
            "plan": "organization.plan_changed",
            "audit_retention_days": "organization.retention_changed",
        },
    )


@admin.register(Membership)
class MembershipAdmin(StaffRecordedAdmin, admin.ModelAdmin):
    list_display = ("user", "organization", "role")
    list_filter = ("role", "organization")
    search_fields = ("user__email", "organization__name", "organization__slug")
    autocomplete_fields = ("user", "organization")
    list_select_related = ("user", "organization")
    filter_horizontal = ("projects",)
    audit_spec = MEMBERSHIP_AUDIT

    def get_readonly_fields(self, request, obj=None):
        # A membership stays the same person in the same organization.
        return ("user", "organization", "created_at") if obj is not None else ("created_at",)


@admin.register(SecurityLogEntry)
class SecurityLogAdmin(admin.ModelAdmin):
    """Failed sign-ins no organization's log can take, and lock-outs: read-only."""

    list_display = ("last_at", "kind", "attempted_email", "ip", "attempts", "user_agent")
    list_filter = ("kind",)
    search_fields = ("attempted_email", "ip")
    date_hierarchy = "last_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

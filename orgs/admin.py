from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from orgs.models import Membership, Organization, SecurityLogEntry, User


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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    filter_horizontal = ("projects",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "plan", "timezone", "synthetic_data", "created_at")
    list_filter = ("plan", "synthetic_data")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role")
    list_filter = ("role", "organization")
    search_fields = ("user__email", "organization__name", "organization__slug")
    autocomplete_fields = ("user", "organization")
    list_select_related = ("user", "organization")


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

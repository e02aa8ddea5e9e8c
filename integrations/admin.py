"""Operators see an organization's API tokens and log destinations; what they change here is
recorded in the organization's log. Tokens and destinations are created in the product, where
the secret is shown once and the address is checked."""

from django.contrib import admin

from auditlogs.web.operators import ByOrganizationAdmin
from auditlogs.web.staff_changes import AuditSpec, StaffRecordedAdmin
from integrations.models import ApiToken, Destination


@admin.register(ApiToken)
class ApiTokenAdmin(ByOrganizationAdmin, StaffRecordedAdmin, admin.ModelAdmin):
    list_display = ("name", "prefix", "organization", "created_by", "created_at", "expires_at",
                    "revoked_at", "last_used_at")
    search_fields = ("name", "prefix", "organization__slug")
    list_select_related = ("organization", "created_by")
    fields = ("organization", "name", "prefix", "created_by", "created_at", "last_used_at",
              "expires_at", "revoked_at")
    readonly_fields = ("organization", "prefix", "created_by", "created_at", "last_used_at")
    # Revoking (setting "revoked at") is how a token goes; rows are kept.
    audit_spec = AuditSpec(
        organization=lambda token: token.organization,
        updated="api_token.updated",
        field_actions={"revoked_at": "api_token.revoked"},
    )


@admin.register(Destination)
class DestinationAdmin(ByOrganizationAdmin, StaffRecordedAdmin, admin.ModelAdmin):
    list_display = ("name", "organization", "status", "cursor", "batch_size",
                    "last_delivered_at", "failed_attempts")
    list_filter = ("status",)
    search_fields = ("name", "organization__slug")
    list_select_related = ("organization",)
    fields = ("organization", "name", "url", "batch_size", "status", "cursor",
              "last_delivered_at", "last_error", "last_error_at", "failed_attempts", "created_by",
              "created_at")
    # Changing the address or resuming belongs to the product's form, which checks them.
    readonly_fields = ("organization", "url", "status", "cursor", "last_delivered_at", "last_error",
                       "last_error_at", "failed_attempts", "created_by", "created_at")
    audit_spec = AuditSpec(
        organization=lambda destination: destination.organization,
        updated="destination.updated",
        deleted="destination.deleted",
    )

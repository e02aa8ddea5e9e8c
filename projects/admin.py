from django.contrib import admin

from auditlogs.web.staff_changes import AuditSpec, StaffRecordedAdmin, StaffRecordedInline
from projects.models import Chatbot, Project

CHATBOT_AUDIT = AuditSpec(
    organization=lambda chatbot: chatbot.project.organization,
    project=lambda chatbot: chatbot.project,
    created="chatbot.created",
    updated="chatbot.updated",
    deleted="chatbot.deleted",
)


class ChatbotInline(StaffRecordedInline, admin.TabularInline):
    model = Chatbot
    extra = 0
    fields = ("name", "model_name", "temperature")
    audit_spec = CHATBOT_AUDIT


@admin.register(Project)
class ProjectAdmin(StaffRecordedAdmin, admin.ModelAdmin):
    list_display = ("name", "organization", "slug", "created_at")
    list_filter = ("organization",)
    search_fields = ("name", "slug", "organization__slug")
    list_select_related = ("organization",)
    inlines = [ChatbotInline]
    audit_spec = AuditSpec(
        organization=lambda project: project.organization,
        project=lambda project: project,
        created="project.created",
        updated="project.updated",
        deleted="project.deleted",
    )

    def get_readonly_fields(self, request, obj=None):
        return ("organization", "created_at") if obj is not None else ("created_at",)


@admin.register(Chatbot)
class ChatbotAdmin(StaffRecordedAdmin, admin.ModelAdmin):
    list_display = ("name", "project", "model_name", "temperature")
    list_filter = ("model_name",)
    search_fields = ("name", "project__name")
    list_select_related = ("project",)
    exclude = ("api_key",)
    audit_spec = CHATBOT_AUDIT

    def get_readonly_fields(self, request, obj=None):
        return ("project", "created_at") if obj is not None else ("created_at",)

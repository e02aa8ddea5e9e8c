from django.contrib import admin

from projects.models import Chatbot, Project


class ChatbotInline(admin.TabularInline):
    model = Chatbot
    extra = 0
    fields = ("name", "model_name", "temperature")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "slug", "created_at")
    list_filter = ("organization",)
    search_fields = ("name", "slug", "organization__slug")
    list_select_related = ("organization",)
    inlines = [ChatbotInline]


@admin.register(Chatbot)
class ChatbotAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "model_name", "temperature")
    list_filter = ("model_name",)
    search_fields = ("name", "project__name")
    list_select_related = ("project",)
    exclude = ("api_key",)

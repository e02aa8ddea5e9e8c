from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations: exports, API, webhooks and alerts"
    default_auto_field = "django.db.models.BigAutoField"

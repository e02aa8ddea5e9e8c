from django.apps import AppConfig


class AuditlogsConfig(AppConfig):
    name = "auditlogs"
    verbose_name = "Audit Logs"

    def ready(self):
        from auditlogs import signals  # noqa: F401  (connects the sign-in and sign-out hooks)

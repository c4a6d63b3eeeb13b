from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "handouts.web"
    label = "web"
    verbose_name = "Handouts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the audit log to sign-ins)

from django.apps import AppConfig


class OpenpickerConfig(AppConfig):
    """The project itself, as an app: operator commands (serve), probes, metrics and logs."""

    name = "openpicker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from openpicker import logs, metrics

        metrics.connect()
        logs.connect_celery()

from django.apps import AppConfig


class OpenpickerConfig(AppConfig):
    """The project itself, as an app only for its operator commands (serve)."""

    name = "openpicker"
    default_auto_field = "django.db.models.BigAutoField"

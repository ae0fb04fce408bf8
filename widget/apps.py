from django.apps import AppConfig


class WidgetConfig(AppConfig):
    """The browser side: /library/filepicker.js and the picker dialog it opens."""

    name = "widget"
    default_auto_field = "django.db.models.BigAutoField"

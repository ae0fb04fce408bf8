from django.apps import AppConfig


class PickerConfig(AppConfig):
    name = "picker"
    default_auto_field = "django.db.models.BigAutoField"

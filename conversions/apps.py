from django.apps import AppConfig


class ConversionsConfig(AppConfig):
    name = "conversions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from conversions import views
        from conversions.operations import IMAGE_OPERATIONS
        from picker import cdn, events

        for name in (*IMAGE_OPERATIONS, "store"):
            cdn.processors[name] = views.cdn_conversion
        events.file_event.connect(views.forget_on_change, dispatch_uid="conversions.forget")

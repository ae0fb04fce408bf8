from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from openpicker.celery import app as celery_app
        from picker import events
        from webhooks import recording

        events.recorded.connect(recording.receive, dispatch_uid="webhooks.record")
        # The sweeper: due retries and orphaned deliveries (DESIGN.md §4). Claims are
        # exclusive, so two beats running at once cost a query, never a duplicate attempt.
        celery_app.conf.beat_schedule["webhooks-deliver-due"] = {
            "task": "webhooks.deliver_due",
            "schedule": settings.OPENPICKER_WEBHOOK_SWEEP_EVERY,
        }

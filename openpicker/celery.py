"""The Celery application: settings come from Django's (CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")

app = Celery("openpicker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "expire-abandoned-multipart-uploads": {
        "task": "picker.tasks.expire_multipart_uploads",
        "schedule": crontab(minute="*/15"),
    },
}

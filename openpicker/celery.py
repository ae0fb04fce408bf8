"""The Celery application: settings come from Django's (CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")

# The embedded broker (sqla+sqlite://) is polled adaptively: fast while tasks come, slowly at
# rest (openpicker/broker.py). A name, so SQLAlchemy is imported only where that broker is used.
TRANSPORT_ALIASES["sqla"] = TRANSPORT_ALIASES["sqlalchemy"] = "openpicker.broker:Transport"

app = Celery("openpicker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# OPENPICKER_MULTIPART_EXPIRE_EVERY (seconds) replaces the quarter-hourly sweep (tests).
_expire_every = os.environ.get("OPENPICKER_MULTIPART_EXPIRE_EVERY")
app.conf.beat_schedule = {
    "expire-abandoned-multipart-uploads": {
        "task": "picker.tasks.expire_multipart_uploads",
        "schedule": float(_expire_every) if _expire_every else crontab(minute="*/15"),
    },
    "refresh-instagram-tokens": {
        "task": "providers.instagram.refresh_tokens",
        "schedule": crontab(minute=7),
    },
}

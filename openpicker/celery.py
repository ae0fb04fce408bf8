"""The Celery application: settings come from Django's (CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_init

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


@worker_init.connect
def _sqlite_broker_polling(sender=None, **kwargs):
    """kombu's SQLAlchemy transport polls its table once a second by default and hands
    broker_transport_options to create_engine (so polling_interval cannot go there): with a
    1 s poll two worker processes finish at most two conversions a second. Done when a worker
    starts, not at import: the settings may still be loading then."""
    if (app.conf.broker_url or "").startswith("sqla+"):
        from kombu.transport.sqlalchemy import Transport

        Transport.polling_interval = 0.1

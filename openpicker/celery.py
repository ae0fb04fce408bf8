"""The Celery application: settings come from Django's (CELERY_* names)."""

import os

from celery import Celery, bootsteps
from celery.schedules import crontab
from click import Option
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")

# The embedded broker (sqla+sqlite://) is polled adaptively: fast while tasks come, slowly at
# rest (openpicker/broker.py). A name, so SQLAlchemy is imported only where that broker is used.
TRANSPORT_ALIASES["sqla"] = TRANSPORT_ALIASES["sqlalchemy"] = "openpicker.broker:Transport"

app = Celery("openpicker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "expire-abandoned-multipart-uploads": {
        "task": "picker.tasks.expire_multipart_uploads",
        "schedule": crontab(minute="*/15"),
    },
    "refresh-instagram-tokens": {
        "task": "providers.instagram.refresh_tokens",
        "schedule": crontab(minute=7),
    },
}


class BeatThread(bootsteps.StartStopStep):
    """`--beat-thread`: beat in a thread of this worker instead of a process of its own.

    For a deployment with exactly one worker (`manage.py serve`): two would schedule twice.
    Celery's own `-B` forks a process, which costs a full copy of the worker's memory.
    """

    label = "BeatThread"
    conditional = True

    def __init__(self, worker, beat_thread=False, **kwargs):
        self.enabled = bool(beat_thread)
        super().__init__(worker, **kwargs)

    def create(self, worker):
        from celery.beat import EmbeddedService
        from django.conf import settings

        schedule = worker.schedule_filename or settings.CELERY_BEAT_SCHEDULE_FILENAME
        return EmbeddedService(worker.app, thread=True, schedule_filename=schedule)


app.user_options["worker"].add(
    Option(
        ["--beat-thread"],
        is_flag=True,
        default=False,
        help="Run beat in a thread of this worker (only one worker may do so).",
    )
)
app.steps["worker"].add(BeatThread)

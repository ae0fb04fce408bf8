"""The Celery application: settings come from Django's (CELERY_* names)."""

import os

from celery import Celery, bootsteps, signals
from celery.schedules import crontab
from click import Option
from kombu.transport import TRANSPORT_ALIASES

from openpicker import memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")
memory.tune()  # workers move parts, images and objects as the web workers do

# The embedded broker (sqla+sqlite://) is polled adaptively: fast while tasks come, slowly at
# rest (openpicker/broker.py). A name, so SQLAlchemy is imported only where that broker is used.
TRANSPORT_ALIASES["sqla"] = TRANSPORT_ALIASES["sqlalchemy"] = "openpicker.broker:Transport"

app = Celery("openpicker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_old_connections(sender=None, **kwargs) -> None:
    """Around each task, as around a request: close connections past CONN_MAX_AGE or broken.

    Celery's Django fixup would close every connection before and after each task (unless
    CELERY_DB_REUSE_MAX, settings.py): a new PostgreSQL connection per webhook attempt was
    most of the attempt's time (benchmarks/README.md).
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # in the caller's process and transaction
    from django.db import close_old_connections

    close_old_connections()


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


class BeatThread(bootsteps.StartStopStep):
    """`--beat-thread`: beat in a thread of this worker instead of a process of its own.

    What `manage.py serve` does on its one node (it runs exactly one webhooks worker): a beat
    process costs a whole Django (about 130 MB). A deployment of several nodes runs the
    Procfile's `beat` type instead, once.
    """

    label = "BeatThread"
    conditional = True

    def __init__(self, worker, beat_thread=False, **kwargs):
        self.enabled = bool(beat_thread)
        super().__init__(worker, **kwargs)

    def create(self, worker):
        from celery.beat import EmbeddedService
        from django.conf import settings

        return EmbeddedService(
            worker.app, thread=True, schedule_filename=settings.CELERY_BEAT_SCHEDULE_FILENAME
        )


app.user_options["worker"].add(
    Option(
        ["--beat-thread"],
        is_flag=True,
        default=False,
        help="Run beat in a thread of this worker (one per deployment).",
    )
)
app.steps["worker"].add(BeatThread)

"""Celery tasks of conversions (the `conversions` queue, a worker pool sized to the cores)."""

from celery import shared_task
from django.conf import settings

from conversions import renditions

# Redis hands the message of a job whose pool process died back at once (acks_late). kombu's SQL
# transport (the embedded broker) cannot: requeueing from the pool's result thread deadlocks the
# worker (measured: its main process waits on a lock and never runs a task again). There the
# stale-claim path of conversions.renditions queues the job again, under the same attempt bound.
REQUEUE_ON_WORKER_LOST = not settings.CELERY_BROKER_URL.startswith("sqla+")


@shared_task(
    name="conversions.render", acks_late=True, reject_on_worker_lost=REQUEUE_ON_WORKER_LOST
)
def render_rendition(rendition_id: int) -> None:
    """Compute one pending rendition (idempotent: a ready or failed row is left alone).

    Acknowledged only when done: a worker that dies mid-job hands the message back to the
    broker, and the attempt counter on the row bounds how often the job is started.
    """
    renditions.compute(rendition_id)

"""Celery tasks of conversions (the `conversions` queue, a worker pool sized to the cores)."""

from celery import shared_task

from conversions import renditions


# acks_late and reject_on_worker_lost come from the settings (CELERY_TASK_*): a job whose pool
# process dies goes back to Redis or RabbitMQ at once; on the embedded broker, which cannot take
# it back, the stale-claim path of conversions.renditions queues it again, under the same bound.
@shared_task(name="conversions.render")
def render_rendition(rendition_id: int) -> None:
    """Compute one pending rendition (idempotent: a ready or failed row is left alone).

    Acknowledged only when done: a worker that dies mid-job hands the message back to the
    broker, and the attempt counter on the row bounds how often the job is started.
    """
    renditions.compute(rendition_id)

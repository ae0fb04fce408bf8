"""Celery tasks of conversions (the `conversions` queue, a worker pool sized to the cores)."""

from celery import shared_task

from conversions import renditions


@shared_task(name="conversions.render", acks_late=True)
def render_rendition(rendition_id: int) -> None:
    """Compute one pending rendition (idempotent: a ready or failed row is left alone)."""
    renditions.compute(rendition_id)

"""Celery tasks of the core: thin wrappers around domain functions."""

from celery import shared_task

from picker import multipart


@shared_task(name="picker.tasks.expire_multipart_uploads")
def expire_multipart_uploads() -> int:
    """Drop multipart uploads abandoned for longer than OPENPICKER_MULTIPART_TTL_HOURS."""
    return multipart.expire_abandoned()

"""Celery tasks of webhooks (the `webhooks` queue and its own worker): thin wrappers.

Every task is immediate; the schedule lives in the database (webhooks.models.SCHEDULE), never
in a broker ETA (a long ETA is redelivered by Redis and kills RabbitMQ channels).
"""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime

from webhooks import delivery
from webhooks.models import Delivery


@shared_task(name="webhooks.deliver", acks_late=True)
def deliver(delivery_id: int, token: str, at: str | None = None) -> None:
    """Make the scheduled attempt a sweeper's (or the recorder's) claim stands for."""
    delivery.attempt_scheduled(delivery_id, token, parse_datetime(at) if at else None)


@shared_task(name="webhooks.redeliver", acks_late=True)
def redeliver(delivery_id: int) -> None:
    """A manual attempt (the redeliver API): the schedule stays where it is."""
    try:
        delivery.attempt_manual(delivery_id)
    except Delivery.DoesNotExist:
        return


@shared_task(name="webhooks.deliver_due")
def deliver_due() -> None:
    """Beat's sweeper: claim and queue due and orphaned deliveries."""
    delivery.deliver_due()

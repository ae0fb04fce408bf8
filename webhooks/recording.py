"""Events into rows: the `recorded` receiver writes the Event and its Deliveries.

`picker.events.publish` sends `recorded` synchronously inside the transaction of the action it
announces, so the Event and its Deliveries commit with the file, or roll back with it: a store
rolled back leaves no Event, and a committed store always has one. Each Delivery is created
already claimed (due now, leased); attempt 1 is queued once the transaction commits. If the
process dies between the commit and the queueing, or the broker is down, the lease expires
and the sweeper claims the delivery: nothing is lost.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from picker import events
from webhooks import delivery as deliveries
from webhooks.models import Delivery, Event, WebhookEndpoint


def record(event: events.Event) -> Event:
    """Store `event` and one claimed Delivery per subscribed endpoint; queue them on commit."""
    row = Event.objects.create(
        app=event.app, action=event.action, timestamp=event.at, text=event.text()
    )
    endpoints = WebhookEndpoint.objects.filter(app=event.app, active=True)
    create_deliveries(row, [e for e in endpoints if e.subscribes(event.action)])
    return row


def create_deliveries(row: Event, endpoints: list[WebhookEndpoint]) -> list[Delivery]:
    """One Delivery per endpoint, due now and claimed by this transaction's on-commit queueing."""
    if not endpoints:
        return []
    now = timezone.now()
    token = deliveries.new_token()
    created = Delivery.objects.bulk_create(
        [
            Delivery(
                event=row,
                endpoint=endpoint,
                next_attempt_at=now,
                lease_until=now + deliveries.lease(),
                lease_token=token,
            )
            for endpoint in endpoints
        ]
    )
    claims = [(d.pk, token) for d in created]
    transaction.on_commit(lambda: deliveries.enqueue(claims), robust=True)
    return created


def receive(sender, event: events.Event, **kwargs) -> None:
    """The `recorded` signal's receiver (connected in WebhooksConfig.ready)."""
    record(event)

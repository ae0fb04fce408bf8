"""Subscribing a URL: vetted by the outbound guard when added, not only when first delivered."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from picker import events
from picker.errors import BadRequest, OutboundFailed
from picker.models import App
from picker.outbound import check_url
from webhooks.models import ALL, Delivery, Event, WebhookEndpoint
from webhooks.recording import create_deliveries

TEST_ACTION = "fp.test"


def parse_actions(value: str | list[str] | None) -> list[str]:
    """ "all", or known actions (a comma-separated string or a list); a 400 for anything else."""
    if value is None or value == "" or value == ALL:
        return [ALL]
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [name.strip() for name in names if name.strip()]
    unknown = [name for name in names if name not in (*events.ACTIONS, ALL)]
    if unknown or not names:
        raise BadRequest(
            f"unknown actions {unknown}; use all or some of {', '.join(events.ACTIONS)}",
            code="invalid_actions",
        )
    return [ALL] if ALL in names else names


def add_endpoint(app: App, url: str, actions: str | list[str] | None = None) -> WebhookEndpoint:
    """Subscribe `url` to the app's events; refused (OutboundRefused) where the guard would be."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise BadRequest("the webhook URL must be an http(s) URL", code="invalid_url") from None
    try:
        check_url(url)
    except OutboundFailed:
        # It does not resolve today; the guard runs again at every attempt.
        pass
    return WebhookEndpoint.objects.create(app=app, url=url, actions=parse_actions(actions))


def send_test_event(app: App, endpoint: WebhookEndpoint) -> Delivery:
    """An `fp.test` event to this one endpoint, through the same delivery as any other."""
    with transaction.atomic():
        event = Event.objects.create(
            app=app,
            action=TEST_ACTION,
            timestamp=timezone.now(),
            text={"message": "a test event from OpenPicker", "endpoint": endpoint.url},
        )
        (delivery,) = create_deliveries(event, [endpoint])
    return delivery


def queue_redelivery(delivery: Delivery) -> None:
    """A manual attempt, queued once the caller's transaction commits; the schedule stays."""
    from webhooks.tasks import redeliver

    transaction.on_commit(lambda: redeliver.delay(delivery.pk))

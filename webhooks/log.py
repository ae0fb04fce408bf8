"""The delivery log: one selector for the integrators' API and the portal, scoped to one app.

Another app's deliveries and endpoints are never in its results, so a lookup of one by id is
a 404 from here, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from picker.errors import BadRequest, NotFound
from picker.models import App
from webhooks.models import Attempt, Delivery, WebhookEndpoint

STATUSES = tuple(Delivery.Status.values)


def deliveries(app: App, *, status: str | None = None, action: str | None = None) -> QuerySet:
    """The app's deliveries, newest event first, with their event, endpoint and attempts."""
    if status and status not in STATUSES:
        raise BadRequest(f"status is one of {', '.join(STATUSES)}", code="invalid_status")
    rows = (
        Delivery.objects.filter(event__app=app, endpoint__app=app)
        .select_related("event", "endpoint")
        .prefetch_related(Prefetch("attempts", queryset=Attempt.objects.order_by("number")))
        .order_by("-event__timestamp", "-pk")
    )
    if status:
        rows = rows.filter(status=status)
    if action:
        rows = rows.filter(event__action=action)
    return rows


def delivery(app: App, delivery_id: int) -> Delivery:
    try:
        return deliveries(app).get(pk=delivery_id)
    except Delivery.DoesNotExist:
        raise NotFound("no such delivery", code="delivery_not_found") from None


def endpoints(app: App) -> QuerySet:
    return WebhookEndpoint.objects.filter(app=app).order_by("pk")


def endpoint(app: App, endpoint_id: int) -> WebhookEndpoint:
    try:
        return endpoints(app).get(pk=endpoint_id)
    except WebhookEndpoint.DoesNotExist:
        raise NotFound("no such webhook endpoint", code="endpoint_not_found") from None


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_entry(row: Delivery) -> dict:
    """One delivery as the log shows it (DESIGN.md §4)."""
    return {
        "id": row.pk,
        "event_id": row.event_id,
        "action": row.event.action,
        "timestamp": int(row.event.timestamp.timestamp()),
        "endpoint_id": row.endpoint_id,
        "url": row.endpoint.url,
        "status": row.status,
        "first_attempt_at": _when(row.first_attempt_at),
        "next_attempt_at": _when(row.next_attempt_at) if row.status == "pending" else None,
        "attempts": [
            {
                "number": attempt.number,
                "trigger": attempt.trigger,
                "at": _when(attempt.started_at),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
                "reply": attempt.reply,
            }
            for attempt in row.attempts.all()
        ],
    }


def endpoint_entry(row: WebhookEndpoint) -> dict:
    return {
        "id": row.pk,
        "url": row.url,
        "actions": row.actions,
        "active": row.active,
        "created_at": _when(row.created_at),
    }

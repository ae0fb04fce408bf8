"""Delivering a Delivery: claim it, send one signed POST through the outbound guard, record it.

The shape of svix's worker (prepare → send → record) over a stored schedule:
- a claim sets a lease (`lease_until`) and a token on due or orphaned deliveries, one statement
  per batch, so two sweepers never claim the same row (PostgreSQL: SELECT … FOR UPDATE SKIP
  LOCKED; SQLite, whose writes are serialised: one conditional UPDATE, then read back which rows
  carry this claim's token);
- a task takes its claim by clearing the token (a conditional UPDATE: of two copies of one
  message only one posts), sends, and records the Attempt and the next step of the schedule;
- a worker killed mid-attempt leaves the lease to expire; the sweeper then claims the delivery
  again. At least once, never lost: receivers dedupe on the event id, which never changes.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from picker.errors import OutboundFailed, OutboundRefused, TooLarge
from picker.outbound import REPLY_EXCERPT_BYTES, request_public_url
from webhooks import statements
from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint
from webhooks.signing import signed_headers
from webhooks.statements import Step

logger = logging.getLogger(__name__)

Claim = tuple[int, str]

# Sent after each attempt is stored (by raw SQL: no post_save), with `attempt`, for the metrics.
attempt_recorded = Signal()


def lease() -> timedelta:
    """How long a claimed delivery is held before the sweeper takes it for an orphan."""
    return timedelta(seconds=settings.OPENPICKER_WEBHOOK_LEASE)


def new_token() -> str:
    return secrets.token_hex(16)


def _due(now: datetime) -> Q:
    unleased = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) & unleased


def claim_due(now: datetime, limit: int) -> list[Claim]:
    """Lease up to `limit` due or orphaned deliveries to this caller; (id, token) of each."""
    token = new_token()
    fields = {"lease_until": now + lease(), "lease_token": token}
    due = Delivery.objects.filter(_due(now)).order_by("next_attempt_at", "pk")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
            Delivery.objects.filter(pk__in=ids).update(**fields)
        else:
            # SQLite serialises writers: the UPDATE re-checks "due" as it writes, so rows another
            # sweeper leased between the SELECT and here are left alone; the read-back says
            # which rows this claim got.
            candidates = list(due.values_list("pk", flat=True)[:limit])
            Delivery.objects.filter(_due(now), pk__in=candidates).update(**fields)
            ids = list(
                Delivery.objects.filter(pk__in=candidates, lease_token=token).values_list(
                    "pk", flat=True
                )
            )
    return [(pk, token) for pk in ids]


@dataclass(frozen=True)
class Outcome:
    """What one POST came to."""

    status_code: int | None
    error: str
    reply: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_bytes(event: Event) -> bytes:
    """The body every attempt of `event` sends (the same bytes each time)."""
    return json.dumps(event.body(), separators=(",", ":")).encode()


def send(endpoint: WebhookEndpoint, event: Event, at: datetime) -> Outcome:
    """POST the event to the endpoint, signed at `at`; any failure becomes the Outcome's error."""
    body = body_bytes(event)
    headers = signed_headers(endpoint.secret, str(int(at.timestamp())), body)
    started = time.monotonic()
    status_code, error, reply = None, "", b""
    try:
        with request_public_url(
            "POST",
            endpoint.url,
            body=body,
            headers=headers,
            follow_redirects=False,
            timeout=settings.OPENPICKER_WEBHOOK_TIMEOUT,
            connect_timeout=settings.OPENPICKER_WEBHOOK_CONNECT_TIMEOUT,
        ) as response:
            status_code = response.status
            reply = response.excerpt(REPLY_EXCERPT_BYTES)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
            if 300 <= status_code < 400:
                error += " (redirects are not followed)"
    except OutboundRefused as exc:
        error = f"refused: {exc.detail}"
    except (OutboundFailed, TooLarge) as exc:
        error = exc.detail
    duration_ms = round((time.monotonic() - started) * 1000)
    return Outcome(status_code, error, reply.decode("utf-8", "replace"), duration_ms)


def _record(delivery_id: int, outcome: Outcome, at: datetime, trigger: str, step: Step) -> Attempt:
    """Store the attempt, numbered next, and move the delivery on by `step`, in one commit."""
    fields = {
        "trigger": trigger,
        "started_at": at,
        "duration_ms": outcome.duration_ms,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "reply": outcome.reply,
    }
    stored = statements.record(delivery_id, fields, step)
    if stored is None and step.scheduled_attempts is not None:
        # Another copy of this scheduled attempt recorded its step first (its lease had run
        # out): this one is logged and moves nothing.
        stored = statements.record(delivery_id, fields, statements.NO_STEP)
    if stored is None:
        raise Delivery.DoesNotExist(f"delivery {delivery_id} is gone")
    pk, number = stored
    attempt = Attempt(id=pk, delivery_id=delivery_id, number=number, **fields)
    attempt._state.adding = False
    attempt_recorded.send(sender=Attempt, attempt=attempt)
    return attempt


def attempt_scheduled(delivery_id: int, token: str, at: datetime | None = None) -> Attempt | None:
    """Make the scheduled attempt a claim stands for; None when the claim was already taken."""
    at = at or timezone.now()
    taken = statements.take(delivery_id, token, at + lease())
    if taken is None:
        return None
    outcome = send(taken.endpoint, taken.event, at)
    seen = taken.scheduled_attempts
    after = Delivery(scheduled_attempts=seen, first_attempt_at=taken.first_attempt_at)
    step = statements.schedule_step(after.next_after(at, outcome.succeeded), seen)
    return _record(delivery_id, outcome, at, Attempt.Trigger.SCHEDULED, step)


def attempt_manual(delivery_id: int, at: datetime | None = None) -> Attempt:
    """One extra attempt, whatever the delivery's status (redeliver); the schedule stays put.

    One that succeeds ends the delivery (delivered): nothing is left to retry.
    """
    at = at or timezone.now()
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    outcome = send(delivery.endpoint, delivery.event, at)
    step = statements.DELIVERED_STEP if outcome.succeeded else statements.NO_STEP
    return _record(delivery_id, outcome, at, Attempt.Trigger.MANUAL, step)


def enqueue(claims: list[Claim], at: datetime | None = None) -> None:
    """Queue one immediate task per claim; a broker error leaves the lease to expire."""
    from webhooks.tasks import deliver

    when = at.isoformat() if at is not None else None
    for delivery_id, token in claims:
        try:
            deliver.apply_async((delivery_id, token, when))
        except Exception:
            # Nothing is lost: the lease expires and the sweeper claims the delivery again.
            logger.exception("could not queue webhook delivery %s", delivery_id)


Runner = Callable[[list[Claim], datetime | None], None]


def run_inline(claims: list[Claim], at: datetime | None = None) -> None:
    """Make the claimed attempts in this process (`deliver_due --inline`, tests)."""
    for delivery_id, token in claims:
        attempt_scheduled(delivery_id, token, at)


def deliver_due(now: datetime | None = None, *, driven: bool = False, run: Runner = enqueue) -> int:
    """The sweeper: claim every due or orphaned delivery and run an attempt for each.

    `now` replays the schedule as if at that time; `driven` then dates the attempts at `now`
    too (`manage.py deliver_due --now`), instead of when they really start.
    """
    now = now or timezone.now()
    batch = settings.OPENPICKER_WEBHOOK_SWEEP_BATCH
    total = 0
    while True:
        claims = claim_due(now, batch)
        run(claims, now if driven else None)
        total += len(claims)
        if len(claims) < batch:
            return total

"""Webhooks as stored state: endpoints, every event, one delivery per event × endpoint, attempts.

A Delivery is an explicit state machine (pending → delivered | failed) whose schedule lives in
`next_attempt_at` (svix's message destination, Sentry's `schedule_next_attempt`): attempt 1 at
once, then first+300 s, first+3,600 s, first+43,200 s, then failed. Nothing about the schedule is
kept in the broker; a lease (`lease_until`, `lease_token`) marks a delivery some worker holds,
and a lease past its time makes the delivery an orphan the sweeper claims again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from picker.crypto import EncryptedTextField
from picker.handles import new_secret
from picker.models import App

# Seconds from the first attempt at which each scheduled attempt is due (the seeds: the second
# 5 minutes after the first, the third after 1 hour, the last 12 hours after the first).
SCHEDULE = (0, 300, 3_600, 43_200)
ALL = "all"


class WebhookEndpoint(models.Model):
    """A URL of an app that receives its events (all of them, or the chosen actions)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2048)
    # ["all"] or a list of actions ("fp.upload", ...).
    actions = models.JSONField(default=list)
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.actions)})"

    def save(self, *args, **kwargs):
        if not self.secret:
            self.secret = new_secret()
        super().save(*args, **kwargs)

    def subscribes(self, action: str) -> bool:
        return ALL in self.actions or action in self.actions


class Event(models.Model):
    """Something that happened to an app; its integer pk is the webhook body's `id`.

    Every event is stored whether or not an endpoint subscribes (usage figures read them).
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_events")
    action = models.CharField(max_length=32)
    timestamp = models.DateTimeField(default=timezone.now)
    text = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["app", "action", "timestamp"])]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk}"

    def body(self) -> dict:
        """The webhook body, as the seeds show it."""
        return {
            "action": self.action,
            "timestamp": int(self.timestamp.timestamp()),
            "id": self.pk,
            "text": self.text,
        }


class Delivery(models.Model):
    """One event to one endpoint: its status, its schedule and who holds it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Scheduled attempts made so far (manual ones are not counted: they never move the schedule).
    scheduled_attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts of either kind made so far: the number of the latest one. Each attempt takes the
    # next number by incrementing it in the statement that records it, so numbers stay unique
    # per delivery without reading the attempts back (webhooks.statements).
    attempts_made = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"event {self.event_id} → endpoint {self.endpoint_id}: {self.status}"

    def next_after(self, attempt_started: datetime, succeeded: bool) -> dict:
        """The fields after scheduled attempt number `scheduled_attempts + 1` ended so.

        Pure arithmetic on the stored schedule, so it is tested without Celery or a clock.
        """
        number = self.scheduled_attempts + 1
        first = self.first_attempt_at or attempt_started
        if succeeded:
            status, next_at = self.Status.DELIVERED, None
        elif number < len(SCHEDULE):
            status, next_at = self.Status.PENDING, first + timedelta(seconds=SCHEDULE[number])
        else:
            status, next_at = self.Status.FAILED, None
        return {
            "scheduled_attempts": number,
            "first_attempt_at": first,
            "status": status,
            "next_attempt_at": next_at,
        }


class Attempt(models.Model):
    """One POST of a delivery, scheduled or manual: what was sent when, and what came back."""

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled"
        MANUAL = "manual"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The first KB of the reply, decoded leniently (for the log, not for parsing).
    reply = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_number")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

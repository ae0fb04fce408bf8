"""The delivery path's bare SQL keeps the guarantees the ORM version had.

- A copy whose lease ran out mid-POST (the sweeper gave the delivery to another copy) still
  logs its attempt, under its own number, and moves the schedule only if it recorded first:
  the schedule advances once.
- `Delivery.attempts_made`, the counter attempts take their numbers from, starts (migration
  0002's data step) at the highest number each delivery already had.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from picker import files
from webhooks import delivery
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_copy_whose_lease_ran_out_is_logged_and_the_schedule_moves_once(
    app, endpoint, receiver, settings
):
    receiver.statuses = [500]
    receiver.delay = 1.5  # each POST outlives the lease below
    settings.OPENPICKER_WEBHOOK_LEASE = 1
    files.store(app, io.BytesIO(b"slow").read, files.StoreOptions(filename="a.txt"))
    (one,) = Delivery.objects.all()
    start = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    made = []
    first = threading.Thread(
        target=lambda: made.append(delivery.attempt_scheduled(one.pk, one.lease_token, start))
    )
    first.start()
    try:
        while not receiver.received:  # the first copy has taken the claim and is posting
            assert first.is_alive()
            time.sleep(0.01)
        # Its lease (start + 1 s) has run out: the sweeper claims the delivery for a second copy.
        out = io.StringIO()
        later = start + timedelta(seconds=2)
        call_command("deliver_due", "--now", later.isoformat(), "--inline", stdout=out)
        assert out.getvalue().startswith("1 ")
    finally:
        first.join(30)
    assert made and made[0] is not None
    one.refresh_from_db()
    attempts = list(one.attempts.order_by("number"))
    assert [(a.number, a.trigger, a.status_code) for a in attempts] == [
        (1, "scheduled", 500),
        (2, "scheduled", 500),
    ]
    assert len(receiver.received) == 2  # at least once: the second copy posted again
    assert (one.scheduled_attempts, one.attempts_made, one.status) == (1, 2, "pending")
    assert one.first_attempt_at in (start, later)
    assert one.next_attempt_at == one.first_attempt_at + timedelta(seconds=300)


def test_the_attempt_counter_starts_at_each_deliverys_highest_number(app, receiver):
    before = [("webhooks", "0001_initial")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("webhooks")
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        endpoint = old.get_model("webhooks", "WebhookEndpoint").objects.create(
            app_id=app.pk, url=receiver.url, actions=["all"], secret="s"
        )
        Event = old.get_model("webhooks", "Event")
        OldDelivery = old.get_model("webhooks", "Delivery")
        tried, untried = (
            OldDelivery.objects.create(
                event=Event.objects.create(app_id=app.pk, action="fp.upload", text={}),
                endpoint=endpoint,
            )
            for _ in range(2)
        )
        for number, trigger in [(1, "scheduled"), (2, "manual"), (3, "scheduled")]:
            old.get_model("webhooks", "Attempt").objects.create(
                delivery=tried,
                number=number,
                trigger=trigger,
                started_at=timezone.now(),
                duration_ms=1,
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    assert Delivery.objects.get(pk=tried.pk).attempts_made == 3
    assert Delivery.objects.get(pk=untried.pk).attempts_made == 0
    # The next attempt takes number 4.
    assert delivery.attempt_manual(tried.pk).number == 4


def test_the_commit_is_asynchronous_only_for_the_take_and_the_record(app, endpoint, receiver):
    """On PostgreSQL the take and the record turn synchronous_commit off for their own
    transaction (benchmarks/README.md); the connection's setting, which every other statement
    on it uses, stays as it was."""
    files.store(app, io.BytesIO(b"x").read, files.StoreOptions(filename="a.txt"))
    (one,) = Delivery.objects.all()
    attempt = delivery.attempt_scheduled(one.pk, one.lease_token)
    assert attempt is not None and attempt.number == 1 and attempt.status_code == 200
    one.refresh_from_db()
    assert (one.status, one.attempts_made, one.lease_token) == ("delivered", 1, "")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"

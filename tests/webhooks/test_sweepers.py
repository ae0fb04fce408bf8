"""Two sweepers at once (two beats): every due delivery is claimed by exactly one of them.

Real concurrent connections: PostgreSQL's SELECT … FOR UPDATE SKIP LOCKED in the services
profile, SQLite's serialised conditional UPDATE in the embedded one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from webhooks import delivery
from webhooks.models import Delivery, Event, WebhookEndpoint

pytestmark = pytest.mark.usefixtures("transactional_db")

DELIVERIES = 300


def make_due(app, count: int):
    endpoint = WebhookEndpoint.objects.create(app=app, url="https://a.example/h", actions=["all"])
    events = Event.objects.bulk_create(
        [Event(app=app, action="fp.dialog_open", text={"origin": ""}) for _ in range(count)]
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        [Delivery(event=e, endpoint=endpoint, next_attempt_at=now) for e in events]
    )
    return now


def race(now, sweepers: int = 2, batch: int = 7) -> list[list[int]]:
    """Each sweeper claims batches until none is left; the ids each one got."""
    got: list[list[int]] = [[] for _ in range(sweepers)]
    errors: list[BaseException] = []
    start = threading.Barrier(sweepers)

    def sweeper(mine: list[int]) -> None:
        try:
            start.wait()
            while claims := delivery.claim_due(now, batch):
                mine.extend(pk for pk, _ in claims)
                time.sleep(0.005)  # queueing the tasks: the other sweeper's turn
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper, args=(mine,)) for mine in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return got


def test_two_sweepers_claim_each_delivery_once(app):
    now = make_due(app, DELIVERIES)
    got = race(now)
    counts = Counter(pk for mine in got for pk in mine)
    assert set(counts.values()) == {1}
    assert len(counts) == DELIVERIES == Delivery.objects.count()
    assert all(got), "both sweepers should have claimed some (they ran at the same time)"
    # Each delivery carries the token of the claim that got it, and a lease.
    assert not Delivery.objects.filter(lease_token="").exists()
    assert not Delivery.objects.filter(lease_until__lt=now).exists()


def test_a_sweeper_at_an_expired_lease_reclaims_and_the_old_claim_is_void(app):
    now = make_due(app, 1)
    ((pk, old),) = delivery.claim_due(now, 10)
    assert delivery.claim_due(now + timedelta(seconds=60), 10) == []
    ((again, new),) = delivery.claim_due(now + timedelta(seconds=121), 10)
    assert again == pk and new != old
    # The first claim's (late) task finds its token gone and makes no attempt.
    assert delivery.attempt_scheduled(pk, old) is None

"""The schedule is model arithmetic: first+300 s, +3,600 s, +43,200 s, then failed."""

from datetime import UTC, datetime, timedelta

from webhooks.models import SCHEDULE, Delivery

T0 = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


def step(delivery: Delivery, at: datetime, succeeded: bool) -> Delivery:
    for name, value in delivery.next_after(at, succeeded).items():
        setattr(delivery, name, value)
    return delivery


def test_the_seed_schedule_from_the_first_attempt():
    assert SCHEDULE == (0, 300, 3_600, 43_200)
    delivery = Delivery()
    step(delivery, T0, succeeded=False)
    assert delivery.first_attempt_at == T0
    assert delivery.next_attempt_at == T0 + timedelta(minutes=5)
    assert delivery.status == "pending" and delivery.scheduled_attempts == 1
    # A late attempt does not shift the rest: the schedule counts from the first attempt.
    step(delivery, T0 + timedelta(minutes=7), succeeded=False)
    assert delivery.next_attempt_at == T0 + timedelta(hours=1)
    step(delivery, T0 + timedelta(hours=1, seconds=3), succeeded=False)
    assert delivery.next_attempt_at == T0 + timedelta(hours=12)
    assert delivery.status == "pending" and delivery.scheduled_attempts == 3
    step(delivery, T0 + timedelta(hours=12), succeeded=False)
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.scheduled_attempts == 4 and delivery.first_attempt_at == T0


def test_a_success_ends_the_schedule():
    delivery = Delivery()
    step(delivery, T0, succeeded=False)
    step(delivery, T0 + timedelta(seconds=300), succeeded=True)
    assert delivery.status == "delivered" and delivery.next_attempt_at is None
    assert delivery.scheduled_attempts == 2


def test_a_first_success_is_delivered_at_once():
    delivery = step(Delivery(), T0, succeeded=True)
    assert (delivery.status, delivery.next_attempt_at, delivery.first_attempt_at) == (
        "delivered",
        None,
        T0,
    )

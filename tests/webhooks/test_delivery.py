"""Attempts against a real local receiver: signed seed JSON, the schedule, the guard, claims.

The clock is driven: attempts are dated by the `now` given to the sweeper (`deliver_due
--now`), exactly as the Celery task would make them at that time.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.core.management import CommandError, call_command
from django.utils import timezone
from filestack.helpers import verify_webhook_signature

from picker import events, files
from webhooks import delivery
from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint
from webhooks.signing import verify

pytestmark = pytest.mark.django_db


def t0():
    """A driven clock's start: a whole second, later than any row these tests create."""
    return (timezone.now() + timedelta(days=1)).replace(microsecond=0)


def store_one(app) -> Delivery:
    files.store(app, io.BytesIO(b"hook me").read, files.StoreOptions(filename="a.txt"))
    (one,) = Delivery.objects.all()
    return one


def first_attempt(one: Delivery, at) -> Attempt:
    """What the on-commit task does: take the recorder's claim and make attempt 1."""
    return delivery.attempt_scheduled(one.pk, one.lease_token, at)


def sweep(at) -> int:
    """`manage.py deliver_due --now AT --inline`; the number of deliveries it claimed."""
    out = io.StringIO()
    call_command("deliver_due", "--now", at.isoformat(), "--inline", stdout=out)
    return int(out.getvalue().split()[0])


def independent_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = crypto_hmac.HMAC(secret.encode(), hashes.SHA256())
    mac.update(f"{timestamp}.".encode() + body)
    return mac.finalize().hex()


def test_attempt_one_posts_the_signed_seed_json(app, endpoint, receiver):
    one = store_one(app)
    start = t0()
    attempt = first_attempt(one, start)
    (got,) = receiver.received
    event = Event.objects.get()
    assert got.path == "/hooks"
    assert got.json == event.body() and got.json["id"] == event.pk
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["FS-Timestamp"] == str(int(start.timestamp()))
    signature = got.headers["FS-Signature"]
    assert signature == independent_signature(
        endpoint.secret, got.headers["FS-Timestamp"], got.body
    )
    assert verify_webhook_signature(endpoint.secret, got.body, got.headers) == (True, {})
    assert verify(endpoint.secret, got.headers["FS-Timestamp"], got.body, signature)
    assert not verify("another secret", got.headers["FS-Timestamp"], got.body, signature)
    ok, _ = verify_webhook_signature(endpoint.secret, got.body + b" ", got.headers)
    assert not ok
    attempt.refresh_from_db()
    assert (attempt.number, attempt.trigger, attempt.status_code, attempt.error) == (
        1,
        "scheduled",
        200,
        "",
    )
    assert attempt.started_at == start and attempt.duration_ms < 5000
    assert attempt.reply == ("reply 200 " * 200)[:1024]
    one.refresh_from_db()
    assert (one.status, one.next_attempt_at, one.first_attempt_at) == ("delivered", None, start)
    assert (one.lease_until, one.lease_token) == (None, "")
    assert sweep(start + timedelta(days=2)) == 0
    assert len(receiver.received) == 1


def test_a_receiver_that_always_fails_gets_four_attempts_on_the_seed_schedule(
    app, endpoint, receiver
):
    receiver.statuses = [500]
    one = store_one(app)
    start = t0()
    first_attempt(one, start)
    for seconds, claimed in [
        (299, 0), (300, 1), (301, 0), (3_599, 0), (3_600, 1), (43_199, 0), (43_200, 1),
        (43_201, 0), (10**6, 0),
    ]:  # fmt: skip
        assert sweep(start + timedelta(seconds=seconds)) == claimed, seconds
    one.refresh_from_db()
    attempts = list(one.attempts.order_by("number"))
    assert [a.started_at - start for a in attempts] == [
        timedelta(0),
        timedelta(seconds=300),
        timedelta(hours=1),
        timedelta(hours=12),
    ]
    assert [a.status_code for a in attempts] == [500] * 4
    assert all(a.error == "HTTP 500" and a.trigger == "scheduled" for a in attempts)
    assert (one.status, one.next_attempt_at, one.scheduled_attempts) == ("failed", None, 4)
    # The id never changes across retries, the timestamp header is each attempt's.
    assert len({r.body for r in receiver.received}) == 1 and len(receiver.received) == 4
    assert [int(r.headers["FS-Timestamp"]) for r in receiver.received] == [
        int((start + timedelta(seconds=s)).timestamp()) for s in (0, 300, 3600, 43200)
    ]


def test_a_receiver_that_recovers_before_attempt_three(app, endpoint, receiver):
    receiver.statuses = [503, 502, 204]
    one = store_one(app)
    start = t0()
    first_attempt(one, start)
    assert sweep(start + timedelta(seconds=300)) == 1
    assert sweep(start + timedelta(seconds=3_600)) == 1
    assert sweep(start + timedelta(seconds=43_200)) == 0
    one.refresh_from_db()
    assert (one.status, one.scheduled_attempts) == ("delivered", 3)
    assert [a.status_code for a in one.attempts.all()] == [503, 502, 204]


def test_a_redirect_is_a_failure_and_is_not_followed(app, endpoint, receiver):
    receiver.statuses = [302]
    one = store_one(app)
    attempt = first_attempt(one, t0())
    attempt.refresh_from_db()
    assert attempt.status_code == 302
    assert attempt.error == "HTTP 302 (redirects are not followed)"
    one.refresh_from_db()
    assert one.status == "pending" and one.next_attempt_at == one.first_attempt_at + timedelta(
        seconds=300
    )


def test_a_private_address_is_refused_when_added_and_when_delivered(app, receiver, settings):
    with pytest.raises(CommandError, match="not public"):
        call_command("addwebhook", app.apikey, "http://10.1.2.3/hook", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not public"):
        call_command("addwebhook", app.apikey, "http://[::1]:8080/hook", stdout=io.StringIO())
    assert not WebhookEndpoint.objects.exists()
    out = io.StringIO()
    call_command("addwebhook", app.apikey, receiver.url, "--events", "fp.upload", stdout=out)
    added = json.loads(out.getvalue())
    endpoint = WebhookEndpoint.objects.get(pk=added["id"])
    assert endpoint.secret == added["secret"] and endpoint.actions == ["fp.upload"]
    # The allowance is withdrawn (or the name now resolves to a private address): refused.
    settings.OPENPICKER_OUTBOUND_ALLOW = []
    one = store_one(app)
    start = t0()
    attempt = first_attempt(one, start)
    attempt.refresh_from_db()
    assert attempt.status_code is None
    assert attempt.error == "refused: the address 127.0.0.1 is not public (it is loopback)"
    assert receiver.received == []
    one.refresh_from_db()
    assert one.status == "pending" and one.next_attempt_at == start + timedelta(seconds=300)


def test_unknown_actions_are_refused_when_added(app):
    with pytest.raises(CommandError, match="unknown actions"):
        call_command(
            "addwebhook",
            app.apikey,
            "https://a.example/h",
            "--events",
            "fp.uplaod",
            stdout=io.StringIO(),
        )


def test_a_lost_claim_is_an_orphan_the_sweeper_takes_after_the_lease(app, endpoint, receiver):
    one = store_one(app)  # its on-commit task never runs: as if the process died at commit
    lease = timedelta(seconds=120)
    assert one.lease_until - one.next_attempt_at == lease
    assert sweep(one.lease_until - timedelta(seconds=1)) == 0
    assert sweep(one.lease_until + timedelta(seconds=1)) == 1
    one.refresh_from_db()
    assert one.status == "delivered" and len(receiver.received) == 1


def test_two_copies_of_one_claim_post_once(app, endpoint, receiver):
    one = store_one(app)
    assert first_attempt(one, t0()) is not None
    assert first_attempt(one, t0()) is None
    assert len(receiver.received) == 1 and Attempt.objects.count() == 1


def test_a_manual_attempt_never_moves_the_schedule(app, endpoint, receiver):
    receiver.statuses = [500, 500, 200]
    one = store_one(app)
    start = t0()
    first_attempt(one, start)
    manual = delivery.attempt_manual(one.pk, start + timedelta(seconds=10))
    one.refresh_from_db()
    assert (manual.number, manual.trigger, manual.status_code) == (2, "manual", 500)
    assert one.next_attempt_at == start + timedelta(seconds=300) and one.scheduled_attempts == 1
    # A manual attempt that succeeds ends the delivery: nothing left to retry.
    manual = delivery.attempt_manual(one.pk, start + timedelta(seconds=20))
    one.refresh_from_db()
    assert (manual.number, manual.status_code, one.status, one.next_attempt_at) == (
        3,
        200,
        "delivered",
        None,
    )
    assert sweep(start + timedelta(seconds=300)) == 0


def test_an_event_nobody_subscribes_to_is_still_stored(app):
    events.publish(events.DialogOpen(app=app, origin="https://shop.example"))
    assert Event.objects.filter(app=app, action="fp.dialog_open").count() == 1
    assert not Delivery.objects.exists()

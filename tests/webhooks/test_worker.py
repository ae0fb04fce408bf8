"""End to end: a real Celery worker on the profile's broker posts every action to a real receiver.

Attempt 1 is queued when the store's transaction commits; the worker (the `webhooks` queue
only) signs and posts it; filestack-python's own verifier accepts every one.
"""

from __future__ import annotations

import time

import pytest
from filestack.helpers import verify_webhook_signature

from picker import events
from picker.models import FileLink
from tests.conftest import server_env
from tests.servers import CeleryWorker
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def webhooks_worker(receiver):
    worker = CeleryWorker(
        server_env(OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{receiver.port}"), queues="webhooks"
    )
    yield worker
    worker.stop()


def wait_for(condition, worker: CeleryWorker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.process.poll() is None, worker.output()
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.1)


def test_every_action_arrives_signed_with_the_seed_body(
    client, app, store, endpoint, receiver, webhooks_worker
):
    blob = store(app, b"first", filename="f.txt").json()
    handle = blob["handle"]
    response = client.post(
        f"/api/file/{handle}?key={app.apikey}", b"second!", content_type="application/octet-stream"
    )
    assert response.status_code == 200, response.content
    link = FileLink.objects.get(handle=handle)
    events.publish(
        events.Export(app=app, link=link, client="Flickr", created="https://flickr.example/p/1")
    )
    events.publish(events.Converse(app=app, link=link, url=f"{link.url}/convert?w=10"))
    events.publish(events.DialogOpen(app=app, origin="https://shop.example"))
    assert client.delete(f"/api/file/{handle}?key={app.apikey}").status_code == 200

    wait_for(lambda: len(receiver.received) >= 6, webhooks_worker)
    wait_for(lambda: not Delivery.objects.exclude(status="delivered").exists(), webhooks_worker)
    by_id = {event.pk: event for event in Event.objects.all()}
    assert len(by_id) == 6
    for got in receiver.received:
        assert verify_webhook_signature(endpoint.secret, got.body, got.headers) == (True, {})
        assert got.json == by_id[got.json["id"]].body()
    assert sorted(got.json["action"] for got in receiver.received) == sorted(events.ACTIONS)
    (upload,) = [got.json for got in receiver.received if got.json["action"] == "fp.upload"]
    assert upload["text"]["key"] == blob["key"] and upload["text"]["client"] == "Computer"
    for one in Delivery.objects.all():
        (attempt,) = one.attempts.all()
        assert (attempt.status_code, attempt.trigger, one.first_attempt_at) == (
            200,
            "scheduled",
            attempt.started_at,
        )
        # Queued on commit, not by a sweeper: the first attempt starts within seconds.
        assert (attempt.started_at - one.event.timestamp).total_seconds() < 10

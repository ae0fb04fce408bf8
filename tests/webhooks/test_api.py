"""The webhooks API over HTTP: the app's secret only, the log, redeliver, test events, isolation."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from openpicker.celery import app as celery_app
from picker import events
from webhooks import delivery
from webhooks.models import Attempt, Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def basic(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"app:{secret}".encode()).decode()}


@pytest.fixture
def eager():
    """Celery runs queued tasks in this process (the redeliver and test-event tasks)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def dialog(app, origin="https://shop.example") -> Delivery:
    events.publish(events.DialogOpen(app=app, origin=origin))
    return Delivery.objects.filter(event__app=app).latest("pk")


def test_a_bare_api_key_or_a_wrong_secret_is_refused(client, app, endpoint):
    for path in ("/api/webhooks/deliveries", "/api/webhooks/endpoints"):
        response = client.get(f"{path}?key={app.apikey}")
        assert response.status_code == 401
        assert response.json()["error"] == "secret_required"
        response = client.get(path, **basic("not-the-secret"))
        assert response.status_code == 401 and response.json()["error"] == "invalid_secret"


def test_the_log_lists_attempts_newest_first_with_filters_and_pages(
    client, app, endpoint, receiver
):
    receiver.statuses = [500, 200]
    failing = dialog(app, "https://one.example")
    start = failing.next_attempt_at.replace(microsecond=0)
    delivery.attempt_scheduled(failing.pk, failing.lease_token, start)
    newer = dialog(app, "https://two.example")
    delivery.attempt_scheduled(newer.pk, newer.lease_token, start + timedelta(seconds=1))
    response = client.get("/api/webhooks/deliveries", **basic(app.secret))
    assert response.status_code == 200, response.content
    page = response.json()
    assert (page["count"], page["page"], page["next_page"]) == (2, 1, None)
    first, second = page["results"]
    assert (first["id"], second["id"]) == (newer.pk, failing.pk)
    assert second["status"] == "pending" and second["action"] == "fp.dialog_open"
    assert second["event_id"] == failing.event_id and second["url"] == receiver.url
    assert second["next_attempt_at"] == (start + timedelta(seconds=300)).isoformat()
    (attempt,) = second["attempts"]
    assert attempt["number"] == 1 and attempt["status_code"] == 500
    assert attempt["at"] == start.isoformat() and attempt["error"] == "HTTP 500"
    assert isinstance(attempt["duration_ms"], int) and attempt["trigger"] == "scheduled"
    assert first["status"] == "delivered" and first["next_attempt_at"] is None

    only = client.get("/api/webhooks/deliveries?status=pending", **basic(app.secret)).json()
    assert [r["id"] for r in only["results"]] == [failing.pk]
    none = client.get("/api/webhooks/deliveries?action=fp.upload", **basic(app.secret)).json()
    assert none["results"] == [] and none["count"] == 0
    paged = client.get("/api/webhooks/deliveries?page_size=1", **basic(app.secret)).json()
    assert [r["id"] for r in paged["results"]] == [newer.pk] and paged["next_page"] == 2
    paged = client.get("/api/webhooks/deliveries?page_size=1&page=2", **basic(app.secret)).json()
    assert [r["id"] for r in paged["results"]] == [failing.pk] and paged["next_page"] is None
    bad = client.get("/api/webhooks/deliveries?status=lost", **basic(app.secret))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_status"


@pytest.mark.usefixtures("eager")
def test_redeliver_adds_a_manual_attempt_and_keeps_the_schedule(
    client, app, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 500, 200]
    one = dialog(app)
    start = one.next_attempt_at
    delivery.attempt_scheduled(one.pk, one.lease_token, start)
    one.refresh_from_db()
    due = one.next_attempt_at
    path = f"/api/webhooks/deliveries/{one.pk}/redeliver"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, **basic(app.secret))
    assert response.status_code == 202, response.content
    assert response.json() == {"id": one.pk, "queued": True}
    one.refresh_from_db()
    manual = one.attempts.get(number=2)
    assert (manual.trigger, manual.status_code) == ("manual", 500)
    assert (one.status, one.next_attempt_at, one.scheduled_attempts) == ("pending", due, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path, **basic(app.secret)).status_code == 202
    one.refresh_from_db()
    assert one.status == "delivered" and one.attempts.get(number=3).status_code == 200
    assert len(receiver.received) == 3
    assert len({r.json["id"] for r in receiver.received}) == 1


@pytest.mark.usefixtures("eager")
def test_endpoints_are_listed_added_and_sent_a_test_event(
    client, app, receiver, django_capture_on_commit_callbacks
):
    response = client.post(
        "/api/webhooks/endpoints",
        {"url": receiver.url, "actions": ["fp.upload", "fp.delete"]},
        content_type="application/json",
        **basic(app.secret),
    )
    assert response.status_code == 201, response.content
    added = response.json()
    endpoint = WebhookEndpoint.objects.get(pk=added["id"])
    assert added["secret"] == endpoint.secret and added["actions"] == ["fp.upload", "fp.delete"]
    listed = client.get("/api/webhooks/endpoints", **basic(app.secret)).json()["endpoints"]
    assert listed == [{k: v for k, v in added.items() if k != "secret"}]
    refused = client.post(
        "/api/webhooks/endpoints",
        {"url": "http://169.254.169.254/latest/meta-data"},
        content_type="application/json",
        **basic(app.secret),
    )
    assert refused.status_code == 400 and refused.json()["error"] == "url_refused"
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/api/webhooks/endpoints/{endpoint.pk}/test", **basic(app.secret))
    assert sent.status_code == 202, sent.content
    (got,) = receiver.received
    assert got.json["action"] == "fp.test" and got.json["id"] == sent.json()["event_id"]
    assert Delivery.objects.get(pk=sent.json()["delivery_id"]).status == "delivered"


def test_another_apps_deliveries_and_endpoints_are_invisible_and_untouchable(
    client, app, other_app, endpoint, receiver
):
    mine = dialog(app)
    theirs = WebhookEndpoint.objects.create(app=other_app, url=receiver.url, actions=["all"])
    theirs_delivery = dialog(other_app)
    assert theirs_delivery.endpoint == theirs
    # The attacker is `app`, holding its own secret, going after other_app's rows by id.
    log = client.get("/api/webhooks/deliveries", **basic(app.secret)).json()
    assert [r["id"] for r in log["results"]] == [mine.pk]
    endpoints = client.get("/api/webhooks/endpoints", **basic(app.secret)).json()["endpoints"]
    assert [e["id"] for e in endpoints] == [endpoint.pk]
    for path in (
        f"/api/webhooks/deliveries/{theirs_delivery.pk}/redeliver",
        f"/api/webhooks/endpoints/{theirs.pk}/test",
    ):
        response = client.post(path, **basic(app.secret))
        assert response.status_code == 404, path
        assert response.json()["error"] in {"delivery_not_found", "endpoint_not_found"}
    # Its own API key with another app's secret is refused outright.
    response = client.get(f"/api/webhooks/deliveries?key={app.apikey}", **basic(other_app.secret))
    assert response.status_code == 401
    assert Attempt.objects.count() == 0 and receiver.received == []
    assert Delivery.objects.filter(endpoint=theirs).count() == 1

"""Credentials > Webhooks: endpoints with All or chosen actions, the delivery log through the
log API's selector, Redeliver and Send test event (Celery eager: the attempts run here)."""

from __future__ import annotations

import base64
import re

import pytest

from picker import events
from webhooks.models import Attempt, Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def rows(page: str) -> list[dict]:
    found = re.findall(
        r'data-testid="delivery" data-delivery="(\d+)" data-action="([^"]+)" '
        r'data-attempts="(\d+)"',
        page,
    )
    return [{"id": int(i), "action": a, "attempts": int(n)} for i, a, n in found]


def test_all_or_chosen_actions(as_alice, alice_app):
    url = f"/portal/apps/{alice_app.pk}/webhooks/"
    as_alice.post(url, {"url": "https://hooks.example.com/all", "all_actions": "on"})
    as_alice.post(
        url, {"url": "https://hooks.example.com/some", "actions": ["fp.upload", "fp.delete"]}
    )
    bad = as_alice.post(url, {"url": "ftp://hooks.example.com/", "all_actions": "on"})
    assert bad.status_code == 400
    nothing = as_alice.post(url, {"url": "https://hooks.example.com/none"})
    assert nothing.status_code == 400 and b"at least one action" in nothing.content
    saved = dict(WebhookEndpoint.objects.filter(app=alice_app).values_list("url", "actions"))
    assert saved == {
        "https://hooks.example.com/all": ["all"],
        "https://hooks.example.com/some": ["fp.upload", "fp.delete"],
    }


def test_log_matches_the_api_and_redeliver_adds_an_attempt(
    client, as_alice, alice_app, receiver, eager, store
):
    as_alice.post(
        f"/portal/apps/{alice_app.pk}/webhooks/", {"url": receiver.url, "all_actions": "on"}
    )
    blob = store(alice_app, b"hello", filename="h.txt").json()
    events.publish(events.DialogOpen(app=alice_app, origin="https://shop.example"))
    page = as_alice.get(f"/portal/apps/{alice_app.pk}/webhooks/").content.decode()
    listed = rows(page)
    assert [r["action"] for r in listed] == ["fp.dialog_open", "fp.upload"]
    assert all(r["attempts"] == 1 for r in listed)
    assert "HTTP 200" in page and blob["handle"] not in page  # the log shows no bodies

    # The same rows, in the same order, as the delivery-log API answers them.
    auth = base64.b64encode(f"app:{alice_app.secret}".encode()).decode()
    api = client.get("/api/webhooks/deliveries", HTTP_AUTHORIZATION=f"Basic {auth}").json()
    assert [r["id"] for r in api["results"]] == [r["id"] for r in listed]

    upload = next(r for r in listed if r["action"] == "fp.upload")
    done = as_alice.post(
        f"/portal/apps/{alice_app.pk}/webhooks/deliveries/{upload['id']}/redeliver"
    )
    assert done.status_code == 302
    attempts = Attempt.objects.filter(delivery_id=upload["id"]).order_by("number")
    assert [(a.number, a.trigger, a.status_code) for a in attempts] == [
        (1, "scheduled", 200),
        (2, "manual", 200),
    ]
    again = rows(as_alice.get(f"/portal/apps/{alice_app.pk}/webhooks/").content.decode())
    assert next(r for r in again if r["id"] == upload["id"])["attempts"] == 2


def test_send_test_event(as_alice, alice_app, receiver, eager):
    as_alice.post(
        f"/portal/apps/{alice_app.pk}/webhooks/", {"url": receiver.url, "all_actions": "on"}
    )
    endpoint = WebhookEndpoint.objects.get(app=alice_app)
    as_alice.post(f"/portal/apps/{alice_app.pk}/webhooks/{endpoint.pk}/test")
    assert [r.json["action"] for r in receiver.received] == ["fp.test"]
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == "delivered"
    page = as_alice.get(f"/portal/apps/{alice_app.pk}/webhooks/?status=delivered").content
    assert b'data-action="fp.test"' in page
    assert (
        b'data-action="fp.test"'
        not in as_alice.get(f"/portal/apps/{alice_app.pk}/webhooks/?status=failed").content
    )


def test_removing_an_endpoint(as_alice, alice_app):
    endpoint = WebhookEndpoint.objects.create(
        app=alice_app, url="https://hooks.example.com/", actions=["all"]
    )
    as_alice.post(f"/portal/apps/{alice_app.pk}/webhooks/{endpoint.pk}/delete")
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()

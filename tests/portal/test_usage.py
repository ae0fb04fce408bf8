"""Usage: per day and per app, from the stored events; the Flickr key's calls this hour."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from picker.models import App
from providers import limits
from providers.models import ProviderCredential
from webhooks.models import Delivery, Event, WebhookEndpoint

pytestmark = pytest.mark.django_db


def event(app, action, days_ago=0, **text):
    return Event.objects.create(
        app=app,
        action=action,
        timestamp=timezone.now() - timedelta(days=days_ago),
        text=text or {"url": "u"},
    )


def cells(page: str, day: str, app_id: int) -> dict[str, int]:
    row = re.search(
        rf'data-testid="usage-row" data-day="{day}" data-app="{app_id}">(.*?)</tr>', page, re.S
    )
    assert row, (day, app_id)
    return {m: int(n) for m, n in re.findall(r'data-metric="(\w+)">(\d+)<', row[1])}


def test_counts_per_day_and_app(as_alice, alice, alice_app, bob_app):
    second = App.objects.create(owner=alice, name="second")
    endpoint = WebhookEndpoint.objects.create(app=alice_app, url="https://h.example/")
    stored = event(alice_app, "fp.upload", key="k", container="")
    event(alice_app, "fp.upload")  # a pick: a link to a provider's item, nothing stored
    event(alice_app, "fp.converse")
    event(alice_app, "fp.export", days_ago=1)
    event(second, "fp.upload", days_ago=1, key="k2")
    event(bob_app, "fp.upload", key="bob")  # not Alice's
    Delivery.objects.create(event=stored, endpoint=endpoint)
    event(alice_app, "fp.upload", days_ago=30, key="old")  # outside the 14 days

    page = as_alice.get("/portal/usage/").content.decode()
    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    assert cells(page, today.isoformat(), alice_app.pk) == {
        "picks": 1,
        "stores": 1,
        "conversions": 1,
        "exports": 0,
        "deliveries": 1,
    }
    assert cells(page, yesterday.isoformat(), alice_app.pk)["exports"] == 1
    assert cells(page, yesterday.isoformat(), second.pk)["stores"] == 1
    assert f'data-app="{bob_app.pk}"' not in page
    # The chart: one bar per metric and day with a count.
    bar = f'data-metric="stores" data-day="{today.isoformat()}" data-count="1"'
    assert bar in page
    assert 'data-testid="total-stores">2<' in page

    one = as_alice.get(f"/portal/apps/{second.pk}/usage/").content.decode()
    assert 'data-testid="total-stores">1<' in one and f'data-app="{alice_app.pk}"' not in one


def test_flickr_calls_this_hour(as_alice, alice_app, settings):
    ProviderCredential.objects.create(
        app=alice_app, provider="flickr", key="own-flickr-key", secret="s"
    )
    limits.forget("flickr", "own-flickr-key")
    for _ in range(3):
        limits.spend("flickr", "own-flickr-key", 3600)
    page = as_alice.get(f"/portal/apps/{alice_app.pk}/usage/").content.decode()
    assert 'data-testid="flickr-budget" data-spent="3" data-limit="3600"' in page
    assert "this app&#x27;s own Flickr key" in page

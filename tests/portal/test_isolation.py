"""Each user sees only their own apps: every portal URL with another user's ids is a 404.

The walk is built from portal.urls itself, so a route added later is walked too.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from picker.models import App
from providers.models import ProviderCredential
from tests.portal.conftest import app_objects
from webhooks.models import Attempt, Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def app_routes(portal_urls) -> list[tuple[str, list[str]]]:
    """(name, its URL arguments) of every route about one app."""
    routes = []
    for name, pattern in portal_urls:
        params = list(pattern.pattern.converters)
        if "app_id" in params:
            routes.append((name, params))
    return routes


def url(name: str, params: list[str], ids: dict) -> str:
    values = {**ids, "provider": "flickr"}
    return reverse(f"portal:{name}", kwargs={p: values[p] for p in params})


def snapshot(app: App) -> tuple:
    app.refresh_from_db()
    return (
        app.name,
        app.secret,
        app.security_required,
        app.allowed_origins,
        list(WebhookEndpoint.objects.filter(app=app).values_list("pk", "url", "actions")),
        list(ProviderCredential.objects.filter(app=app).values_list("pk", "provider")),
        Delivery.objects.filter(event__app=app).count(),
        Attempt.objects.filter(delivery__event__app=app).count(),
    )


def test_every_url_with_another_users_ids_is_a_404(as_alice, alice_app, bob_app, portal_urls):
    bobs = app_objects(bob_app)
    routes = app_routes(portal_urls)
    assert len(routes) >= 20, routes
    before = snapshot(bob_app)
    walked = 0
    for name, params in routes:
        target = url(name, params, bobs)
        for method in (as_alice.get, as_alice.post):
            response = method(
                target,
                {"name": "x", "url": "https://evil.example/", "key": "k", "secret": "s"},
            )
            assert response.status_code == 404, (name, method.__name__, response.status_code)
            assert response["Content-Type"].startswith("text/html")
            assert b'data-testid="not-found"' in response.content
            assert bob_app.apikey.encode() not in response.content
            walked += 1
    assert walked == 2 * len(routes)
    assert snapshot(bob_app) == before
    assert App.objects.filter(pk=bob_app.pk).exists()


def test_own_app_with_another_users_endpoint_or_delivery_is_a_404(
    as_alice, alice_app, bob_app, portal_urls
):
    """Mixing ids: Alice's app id with Bob's endpoint or delivery id."""
    bobs = app_objects(bob_app)
    mixed = {**bobs, "app_id": alice_app.pk}
    routes = [(n, p) for n, p in app_routes(portal_urls) if set(p) - {"app_id", "provider"}]
    assert {n for n, _ in routes} >= {"webhook-delete", "webhook-test", "webhook-redeliver"}
    before = snapshot(bob_app)
    for name, params in routes:
        response = as_alice.post(url(name, params, mixed))
        assert response.status_code == 404, name
    assert snapshot(bob_app) == before


def test_the_owner_reaches_the_same_urls(as_bob, bob_app, portal_urls):
    """The control: with Bob's own session the GET routes answer (so the 404s above are about
    ownership, not broken routes)."""
    bobs = app_objects(bob_app)
    for name, params in app_routes(portal_urls):
        response = as_bob.get(url(name, params, bobs))
        assert response.status_code in (200, 405), (name, response.status_code)
        assert response["Content-Type"].startswith("text/html")
        if response.status_code == 405:
            assert "POST" in response["Allow"] and b'data-testid="error"' in response.content


def test_anonymous_visitors_are_sent_to_log_in(client, bob_app, portal_urls):
    bobs = app_objects(bob_app)
    for name, params in app_routes(portal_urls):
        response = client.get(url(name, params, bobs))
        assert response.status_code == 302 and "/portal/login/" in response["Location"], name


def test_lists_show_only_own_apps(as_alice, alice_app, bob_app):
    for path in ("/portal/", "/portal/usage/"):
        page = as_alice.get(path).content
        assert escape(alice_app.name).encode() in page
        assert bob_app.apikey.encode() not in page and escape(bob_app.name).encode() not in page

"""Secrets reach a page's source only after an explicit reveal; saved keys never come back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from picker.models import StorageTarget
from providers.models import ProviderCredential
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

PAGES = ("app", "policy", "auth-keys", "storage", "webhooks", "app-usage", "app-delete")


def every_page(client, app) -> bytes:
    pages = [client.get(reverse(f"portal:{name}", args=[app.pk])) for name in PAGES]
    assert all(page.status_code == 200 for page in pages)
    return b"".join(page.content for page in pages) + client.get("/portal/").content


def test_app_secret_only_after_reveal(as_alice, alice_app):
    secret = alice_app.secret.encode()
    assert secret not in every_page(as_alice, alice_app)
    revealed = as_alice.post(f"/portal/apps/{alice_app.pk}/secret")
    assert revealed.status_code == 200 and secret in revealed.content
    assert revealed["Cache-Control"] and "no-store" in revealed["Cache-Control"]
    # Revealing is not remembered: the next page load hides it again.
    assert secret not in every_page(as_alice, alice_app)


def test_rotating_shows_the_new_secret_once(as_alice, alice_app):
    old = alice_app.secret
    rotated = as_alice.post(f"/portal/apps/{alice_app.pk}/secret/rotate")
    alice_app.refresh_from_db()
    assert alice_app.secret != old
    assert alice_app.secret.encode() in rotated.content and old.encode() not in rotated.content
    assert alice_app.secret.encode() not in every_page(as_alice, alice_app)


def test_auth_keys_are_never_echoed(as_alice, alice_app):
    key, secret = "flickr-key-4f1c2d9e8b7a", "flickr-secret-0a9b8c7d"
    saved = as_alice.post(
        f"/portal/apps/{alice_app.pk}/auth-keys/flickr/save",
        {"flickr-key": key, "flickr-secret": secret},
        follow=True,
    )
    assert b'data-testid="configured-flickr"' in saved.content
    credential = ProviderCredential.objects.get(app=alice_app, provider="flickr")
    assert (credential.key, credential.secret) == (key, secret)
    # Invalid (no secret): the form comes back without the key in it either.
    invalid = as_alice.post(
        f"/portal/apps/{alice_app.pk}/auth-keys/instagram/save", {"instagram-key": key}
    )
    assert invalid.status_code == 400
    pages = every_page(as_alice, alice_app) + saved.content + invalid.content
    assert key.encode() not in pages and secret.encode() not in pages


def test_storage_keys_are_never_echoed(as_alice, alice_app):
    StorageTarget.objects.create(
        app=alice_app,
        bucket="b",
        access_key_id="AKIAEXAMPLE12345",
        secret_access_key="wJalrXUtnFEMI/K7MDENG",
    )
    pages = every_page(as_alice, alice_app)
    assert b"AKIAEXAMPLE12345" not in pages and b"wJalrXUtnFEMI" not in pages
    assert b"s3://b/" in pages


def test_webhook_signing_secret_only_after_reveal(as_alice, alice_app):
    endpoint = WebhookEndpoint.objects.create(
        app=alice_app, url="https://hooks.example.com/", actions=["all"]
    )
    assert endpoint.secret.encode() not in every_page(as_alice, alice_app)
    revealed = as_alice.post(f"/portal/apps/{alice_app.pk}/webhooks/{endpoint.pk}/secret")
    assert endpoint.secret.encode() in revealed.content

"""Auth Keys: the exact callback URLs, keys saved encrypted, and a Test that runs the provider's
OAuth start with them against the sandbox providers over HTTP."""

from __future__ import annotations

import pytest
from django.db import connection

from providers.models import ProviderCredential

pytestmark = pytest.mark.django_db(transaction=True)

FLICKR_KEY, FLICKR_SECRET = "5a9d0e6b2f3c4d1e8f7a6b5c4d3e2f1a", "0f1e2d3c4b5a6978"
INSTAGRAM_ID, INSTAGRAM_SECRET = "990000000000001", "5f4e3d2c1b0a99887766554433221100"


def save(client, app, provider, key, secret):
    return client.post(
        f"/portal/apps/{app.pk}/auth-keys/{provider}/save",
        {f"{provider}-key": key, f"{provider}-secret": secret},
    )


def run_test(client, app, provider) -> tuple[bool, str]:
    page = client.post(f"/portal/apps/{app.pk}/auth-keys/{provider}/test").content.decode()
    marker = f'data-testid="test-result-{provider}" data-ok="'
    assert marker in page
    ok = page.split(marker, 1)[1].startswith("true")
    return ok, page.split(marker, 1)[1].split(">", 1)[1].split("<", 1)[0]


def test_callback_urls_are_the_exact_ones(as_alice, alice_app, settings):
    page = as_alice.get(f"/portal/apps/{alice_app.pk}/auth-keys/").content.decode()
    base = settings.OPENPICKER_BASE_URL
    assert f"{base}/api/client/flickr/authCallback/open" in page
    assert f"{base}/api/client/instagram/authCallback/open" in page


def test_keys_are_stored_encrypted(as_alice, alice_app):
    assert save(as_alice, alice_app, "flickr", "my-key-123", "my-secret-456").status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, secret FROM providers_providercredential")
        raw = cursor.fetchone()
    assert "my-key-123" not in raw[0] and "my-secret-456" not in raw[1]
    credential = ProviderCredential.objects.get(app=alice_app)
    assert (credential.key, credential.secret) == ("my-key-123", "my-secret-456")


def test_flickr_test_succeeds_with_the_sandbox_keys(as_alice, alice_app, flickr_sandbox):
    save(as_alice, alice_app, "flickr", FLICKR_KEY, FLICKR_SECRET)
    ok, message = run_test(as_alice, alice_app, "flickr")
    assert ok, message
    assert "accepted" in message


def test_flickr_test_shows_the_providers_refusal(as_alice, alice_app, flickr_sandbox):
    save(as_alice, alice_app, "flickr", FLICKR_KEY, "0" * 16)  # wrong secret: bad signature
    ok, message = run_test(as_alice, alice_app, "flickr")
    assert not ok and "refused" in message
    save(as_alice, alice_app, "flickr", "f" * 32, FLICKR_SECRET)  # unknown key
    ok, message = run_test(as_alice, alice_app, "flickr")
    assert not ok and "refused" in message


def test_instagram_test_opens_the_consent_page(as_alice, alice_app, instagram_sandbox):
    save(as_alice, alice_app, "instagram", INSTAGRAM_ID, INSTAGRAM_SECRET)
    ok, message = run_test(as_alice, alice_app, "instagram")
    assert ok, message
    save(as_alice, alice_app, "instagram", "123456789", INSTAGRAM_SECRET)
    ok, message = run_test(as_alice, alice_app, "instagram")
    assert not ok and "400" in message and "Invalid platform app" in message


def test_without_own_keys_there_is_nothing_to_test(as_alice, alice_app):
    ok, message = run_test(as_alice, alice_app, "flickr")
    assert not ok and "No Flickr keys" in message


def test_unknown_provider_is_a_404(as_alice, alice_app):
    assert save(as_alice, alice_app, "myspace", "k", "s").status_code == 404

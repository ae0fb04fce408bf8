"""Every portal page renders for its owner; accounts work; errors are HTML here, JSON in the API."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from picker.models import App
from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_up_logs_in_and_lands_on_the_apps(client, django_user_model):
    page = client.get("/portal/signup/")
    assert page.status_code == 200 and b"Create your developer account" in page.content
    done = client.post(
        "/portal/signup/",
        {"email": "New@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert done.status_code == 302 and done["Location"] == "/portal/"
    user = django_user_model.objects.get()
    assert (user.username, user.email) == ("new@example.com", "new@example.com")
    assert client.get("/portal/").status_code == 200
    again = client.post(
        "/portal/signup/",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert again.status_code == 200 and b"exists" in again.content
    assert django_user_model.objects.count() == 1


def test_log_in_and_out(client, alice):
    assert client.get("/portal/")["Location"].startswith("/portal/login/")
    wrong = client.post("/portal/login/", {"username": "alice@example.com", "password": "nope"})
    assert wrong.status_code == 200 and b"correct" in wrong.content
    right = client.post("/portal/login/", {"username": "Alice@example.com", "password": PASSWORD})
    assert right.status_code == 302 and right["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    assert client.get("/portal/logout/").status_code == 405  # a link cannot log anybody out
    assert client.post("/portal/logout/").status_code == 302
    assert client.get("/portal/").status_code == 302


def test_password_reset_by_email(client, alice):
    sent = client.post("/portal/password-reset/", {"email": "alice@example.com"})
    assert sent.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    base = settings.OPENPICKER_BASE_URL  # never the request's Host header
    link = re.search(rf"{re.escape(base)}/portal/password-reset/\S+/", mail.outbox[0].body)[0]
    path = link[len(base) :]
    form = client.get(path, follow=True)
    assert b"Choose a new password" in form.content
    new = "another long passphrase 77"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert b"Password changed" in done.content
    assert client.login(username="alice@example.com", password=new)


def test_every_page_of_an_app_renders(as_alice, alice_app):
    for name in ("app", "policy", "auth-keys", "storage", "webhooks", "app-usage", "app-delete"):
        page = as_alice.get(reverse(f"portal:{name}", args=[alice_app.pk]))
        assert page.status_code == 200, name
        assert page["Content-Type"].startswith("text/html")
        assert alice_app.apikey.encode() in page.content
    assert as_alice.get("/portal/usage/").status_code == 200


def test_create_rename_origins_security(as_alice, alice):
    created = as_alice.post("/portal/", {"name": "Shop"})
    app = App.objects.get(owner=alice)
    assert created["Location"] == f"/portal/apps/{app.pk}/"
    assert as_alice.post("/portal/", {"name": ""}).status_code == 400
    as_alice.post(f"/portal/apps/{app.pk}/rename", {"name": "Shop 2"})
    bad = as_alice.post(f"/portal/apps/{app.pk}/origins", {"origins": "javascript:alert(1)"})
    assert bad.status_code == 400
    as_alice.post(
        f"/portal/apps/{app.pk}/origins",
        {"origins": "https://shop.example.com/\nhttp://localhost:3000\n"},
    )
    as_alice.post(f"/portal/apps/{app.pk}/security", {"security_required": "on"})
    app.refresh_from_db()
    assert app.name == "Shop 2"
    assert app.allowed_origins == ["https://shop.example.com", "http://localhost:3000"]
    assert app.security_required
    as_alice.post(f"/portal/apps/{app.pk}/security", {})
    app.refresh_from_db()
    assert not app.security_required


def test_portal_errors_are_html_and_the_api_stays_json(as_alice):
    missing = as_alice.get("/portal/no/such/page")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
    assert b'data-testid="not-found"' in missing.content
    gone = as_alice.get("/portal/apps/999999/")
    assert gone.status_code == 404 and b'data-testid="not-found"' in gone.content
    api = as_alice.get("/api/no/such/thing")
    assert api.status_code == 404 and api.json()["error"] == "not_found"


def test_a_refused_webhook_url_is_a_page_not_json(as_alice, alice_app):
    refused = as_alice.post(
        f"/portal/apps/{alice_app.pk}/webhooks/",
        {"url": "http://127.0.0.1:9/hooks", "all_actions": "on"},
    )
    assert refused.status_code == 400 and refused["Content-Type"].startswith("text/html")
    assert b"not public" in refused.content


def test_email_by_smtp_url():
    """OPENPICKER_EMAIL_URL configures Django's SMTP backend (read in a fresh process)."""
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_USER)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "openpicker.settings",
        "OPENPICKER_EMAIL_URL": "smtp://mailer:pw@smtp.example.com:587/?tls=True",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "True",
        "mailer",
    ], out.stderr
    del env["OPENPICKER_EMAIL_URL"]
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split()[0] == "django.core.mail.backends.console.EmailBackend"

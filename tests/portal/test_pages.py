"""Every portal page renders for its owner; accounts work; errors are HTML here, JSON in the API."""

from __future__ import annotations

import re

import pytest
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
    link = re.search(r"http://\S+/portal/password-reset/\S+/", mail.outbox[0].body)[0]
    path = link.split("testserver", 1)[1]
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

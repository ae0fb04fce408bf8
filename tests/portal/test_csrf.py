"""Every portal form is CSRF-protected: a POST without the token is refused (HTML 403), and
every POST form on every page carries the token."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from picker.models import App
from tests.portal.conftest import PASSWORD, app_objects

pytestmark = pytest.mark.django_db

FORM = re.compile(rb"<form\b[^>]*>.*?</form>", re.S | re.I)


def all_urls(portal_urls, ids: dict) -> list[str]:
    values = {**ids, "provider": "flickr", "uidb64": "MQ", "token": "set-password"}
    urls = []
    for name, pattern in portal_urls:
        if name == "not-found":
            continue
        params = list(pattern.pattern.converters)
        urls.append(reverse(f"portal:{name}", kwargs={p: values[p] for p in params}))
    return urls


@pytest.fixture
def strict(alice) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_every_post_without_the_token_is_refused(strict, alice_app, portal_urls):
    ids = app_objects(alice_app)
    before = (alice_app.name, alice_app.secret)
    urls = all_urls(portal_urls, ids)
    assert len(urls) >= 25
    for path in urls:
        response = strict.post(path, {"name": "changed", "url": "https://x.example/"})
        assert response.status_code == 403, (path, response.status_code)
        assert b'data-testid="forbidden"' in response.content, path
    alice_app.refresh_from_db()
    assert (alice_app.name, alice_app.secret) == before
    assert App.objects.filter(pk=alice_app.pk).exists()


def test_anonymous_forms_need_the_token_too(alice, portal_urls):
    client = Client(enforce_csrf_checks=True)
    for path in ("/portal/login/", "/portal/signup/", "/portal/password-reset/"):
        response = client.post(path, {"username": "alice@example.com", "password": PASSWORD})
        assert response.status_code == 403, path


def test_every_form_on_every_page_carries_the_token(strict, alice_app, portal_urls):
    ids = app_objects(alice_app)
    pages = 0
    post_forms = 0
    for path in all_urls(portal_urls, ids):
        page = strict.get(path)
        if page.status_code != 200:
            continue
        pages += 1
        for form in FORM.findall(page.content):
            if re.search(rb'method="post"', form, re.I):
                post_forms += 1
                assert b'name="csrfmiddlewaretoken"' in form, (path, form[:200])
    assert pages >= 10 and post_forms >= 20


def test_with_the_token_the_same_post_works(strict, alice_app):
    """The control: the refusals above are about the token, not the route."""
    page = strict.get(f"/portal/apps/{alice_app.pk}/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)[1].decode()
    done = strict.post(
        f"/portal/apps/{alice_app.pk}/rename", {"name": "renamed", "csrfmiddlewaretoken": token}
    )
    assert done.status_code == 302
    alice_app.refresh_from_db()
    assert alice_app.name == "renamed"

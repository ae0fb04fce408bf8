"""Junk sent to the provider routes is a JSON 4xx in the one error shape, never a 5xx or HTML.

In-process (Django's test client): these are about parsing and validation, which need no Flickr.
"""

import pytest

pytestmark = pytest.mark.django_db

CLOUD_ROUTES = ["/cloud/folder/list", "/cloud/store", "/cloud/export", "/cloud/auth/logout"]


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "detail"} and isinstance(body["detail"], str)
    if code is not None:
        assert body["error"] == code
    return body


@pytest.mark.parametrize("route", CLOUD_ROUTES)
@pytest.mark.parametrize("junk", ["[]", '"text"', "null", "{", "\xff"])
def test_a_cloud_body_that_is_not_an_object_is_a_400(client, route, junk):
    assert_error(client.post(route, junk, content_type="application/json"), 400)


@pytest.mark.parametrize("route", CLOUD_ROUTES[:3])
@pytest.mark.parametrize("clouds", [[], "flickr", {"flickr": "x"}, {"flickr": [1]}, {}])
def test_junk_clouds_are_a_400(client, app, route, clouds):
    body = {"apikey": app.apikey, "clouds": clouds}
    assert_error(client.post(route, body, content_type="application/json"), 400)


def test_a_store_item_with_a_junk_store_object_is_a_400(client, app):
    body = {"apikey": app.apikey, "clouds": {"flickr": {"path": "/", "store": "S3"}}}
    assert_error(client.post("/cloud/store", body, content_type="application/json"), 400)


def test_an_over_long_token_is_a_400_before_any_lookup(client, app):
    body = {"apikey": app.apikey, "token": "t" * 257, "clouds": {"flickr": {}}}
    assert_error(client.post("/cloud/folder/list", body, content_type="application/json"), 400)


@pytest.mark.parametrize("junk", ["[]", '"text"', "7"])
def test_a_proxy_body_that_is_not_an_object_is_a_400(client, junk):
    assert_error(client.post("/services/rest/", junk, content_type="application/json"), 400)


def test_auth_open_refuses_junk_queries(client, app):
    route = "/api/client/flickr/auth/open"
    assert_error(client.get(route, {"key": "k" * 65, "token": "t"}), 400)
    assert_error(client.get(route, {"key": app.apikey, "token": "t" * 257}), 400)
    assert_error(client.get(route, {"key": app.apikey}), 400, "token_required")
    assert_error(client.get(route, {"key": "unknown", "token": "t"}), 401)
    assert_error(client.get(route, {"key": app.apikey, "token": "t", "perms": ""}), 400)
    assert_error(client.get(route, {"key": app.apikey, "token": "t", "perms": "delete"}), 400)
    assert_error(client.get("/api/client/nope/auth/open", {"key": app.apikey}), 404)
    assert_error(client.post(route, {"key": app.apikey, "token": "t"}), 405)


def test_auth_callback_refuses_junk_queries(client):
    route = "/api/client/flickr/authCallback/open"
    assert_error(client.get(route), 400, "oauth_refused")
    assert_error(client.get(route, {"oauth_token": "x", "oauth_verifier": "v" * 513}), 400)
    assert_error(client.get(route, {"oauth_token": "forged", "oauth_verifier": "v"}), 400)
    assert_error(client.get("/api/client/nope/authCallback/open"), 404)
    assert_error(client.post(route), 405)


def test_the_connected_page_escapes_the_providers_account_name(client, monkeypatch):
    """The account name comes from the provider (a display name anyone can choose)."""
    from providers import oauth
    from providers.models import ProviderConnection

    def finish(provider, session, request_token, verifier):
        return ProviderConnection(account_name="<script>alert(1)</script>")

    monkeypatch.setattr(oauth, "finish", finish)
    page = client.get("/api/client/flickr/authCallback/open", {"oauth_token": "t"})
    assert page.status_code == 200
    assert b"<script>alert(1)</script>" not in page.content
    assert b"as &lt;script&gt;alert(1)&lt;/script&gt;." in page.content

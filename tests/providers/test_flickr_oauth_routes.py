"""GET /api/client/flickr/auth/open → the sandbox's consent → authCallback, over real HTTP."""

import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import call_command

from providers.models import PendingAuthorization, ProviderConnection, digest
from providers.sandbox.models import FlickrToken

pytestmark = pytest.mark.django_db(transaction=True)


def start(sandbox_api, app, browser, token="session-1", perms="read") -> str:  # noqa: S107
    """Open the flow in `browser`, press Allow; the callback URL Flickr sends the browser to."""
    opened = browser.get(
        f"{sandbox_api.url}/api/client/flickr/auth/open",
        params={"key": app.apikey, "token": token, "perms": perms},
        allow_redirects=False,
        timeout=10,
    )
    assert opened.status_code == 302, opened.text
    consent_url = opened.headers["Location"]
    assert consent_url.startswith(f"{sandbox_api.url}/sandbox/flickr/services/oauth/authorize?")
    request_token = parse_qs(urlsplit(consent_url).query)["oauth_token"][0]
    page = requests.get(consent_url, timeout=10)
    assert 'data-testid="allow"' in page.text
    allowed = requests.post(
        consent_url.split("?")[0],
        data={"oauth_token": request_token, "perms": perms, "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    callback = allowed.headers["Location"]
    assert callback.startswith(f"{sandbox_api.url}/api/client/flickr/authCallback/open?")
    return callback


def test_connects_once_in_the_same_browser(sandbox_api, app):
    browser = requests.Session()
    callback = start(sandbox_api, app, browser, perms="write")
    done = browser.get(callback, timeout=10)
    assert done.status_code == 200 and 'data-testid="connected"' in done.text
    connection = ProviderConnection.objects.get(app=app, provider="flickr")
    assert connection.session_digest == digest("session-1")
    assert (connection.account_id, connection.account_name) == ("99999999@N00", "sandboxuser")
    assert connection.permissions == "write"
    assert FlickrToken.objects.get(key=connection.token, kind="access").perms == "write"
    assert not PendingAuthorization.objects.exists()

    replayed = browser.get(callback, timeout=10)
    assert replayed.status_code == 400 and replayed.json()["error"] == "oauth_invalid"
    assert ProviderConnection.objects.count() == 1


def test_other_browser_callback_is_refused(sandbox_api, app):
    callback = start(sandbox_api, app, requests.Session())
    stolen = requests.get(callback, timeout=10)
    assert stolen.status_code == 400 and stolen.json()["error"] == "oauth_invalid"
    assert not ProviderConnection.objects.exists()


def test_forged_callbacks_are_refused(sandbox_api, app):
    browser = requests.Session()
    callback = start(sandbox_api, app, browser)
    query = parse_qs(urlsplit(callback).query)
    base = callback.split("?")[0]
    forged_token = browser.get(
        base, params={"oauth_token": "1" * 20, "oauth_verifier": "x" * 16}, timeout=10
    )
    assert forged_token.status_code == 400 and forged_token.json()["error"] == "oauth_invalid"
    forged_verifier = browser.get(
        base,
        params={"oauth_token": query["oauth_token"][0], "oauth_verifier": "0" * 16},
        timeout=10,
    )
    assert forged_verifier.status_code == 400
    assert not ProviderConnection.objects.exists()
    # The request token was spent by the forged attempt: the real verifier cannot be replayed on it.
    assert browser.get(callback, timeout=10).status_code == 400
    assert not ProviderConnection.objects.exists()


def test_unknown_key_and_bad_perms_are_refused(sandbox_api, app):
    url = f"{sandbox_api.url}/api/client/flickr/auth/open"
    unknown = requests.get(
        url, params={"key": "nope", "token": "t"}, allow_redirects=False, timeout=10
    )
    assert unknown.status_code == 401
    bad = requests.get(url, params={"key": app.apikey, "token": "t", "perms": "delete"}, timeout=10)
    assert bad.status_code == 400 and not PendingAuthorization.objects.exists()


def test_dump_holds_no_token_or_secret_in_clear(sandbox_api, app):
    browser = requests.Session()
    browser.get(start(sandbox_api, app, browser, token="session-secret-token"), timeout=10)
    connection = ProviderConnection.objects.get()
    access = FlickrToken.objects.get(key=connection.token, kind="access")
    out = io.StringIO()
    call_command("dumpdata", "providers", stdout=out)
    dump = out.getvalue()
    assert json.loads(dump)  # the connection is in it
    for clear in (access.key, access.secret, "session-secret-token"):
        assert clear not in dump

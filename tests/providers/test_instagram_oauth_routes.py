"""GET /api/client/instagram/auth/open → the sandbox's consent → authCallback, over real HTTP:
the OAuth 2.0 code flow (short-lived, then long-lived token), state bound to the browser and
single use, tokens sealed at rest."""

import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import call_command

from providers.models import PendingAuthorization, ProviderConnection, digest
from providers.sandbox.instagram import catalogue
from providers.sandbox.models import InstagramToken

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("instagram_budget"),
]


def consent(sandbox_api, app, browser, token="session-1", decision="allow") -> str:  # noqa: S107
    """Open the flow in `browser`, answer the consent page; where Instagram sends the browser."""
    opened = browser.get(
        f"{sandbox_api.url}/api/client/instagram/auth/open",
        params={"key": app.apikey, "token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert opened.status_code == 302, opened.text
    consent_url = opened.headers["Location"]
    assert consent_url.startswith(f"{sandbox_api.url}/sandbox/instagram/oauth/authorize?")
    query = parse_qs(urlsplit(consent_url).query)
    assert query["scope"] == ["instagram_business_basic"]
    assert query["response_type"] == ["code"]
    page = requests.get(consent_url, timeout=10)
    assert 'data-testid="allow"' in page.text and 'data-testid="deny"' in page.text
    answered = requests.post(
        consent_url.split("?")[0],
        data={name: values[0] for name, values in query.items()} | {"decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    callback = answered.headers["Location"]
    assert callback.startswith(f"{sandbox_api.url}/api/client/instagram/authCallback/open?")
    return callback


def test_connects_once_with_a_long_lived_token(sandbox_api, app):
    browser = requests.Session()
    callback = consent(sandbox_api, app, browser)
    assert callback.endswith("#_")  # as Instagram sends it
    done = browser.get(callback, timeout=10)
    assert done.status_code == 200 and 'data-testid="connected"' in done.text
    connection = ProviderConnection.objects.get(app=app, provider="instagram")
    assert connection.session_digest == digest("session-1")
    assert (connection.account_id, connection.account_name) == (
        catalogue.USER["user_id"],
        "sandboxgram",
    )
    assert connection.permissions == "read" and connection.token_secret is None
    long = InstagramToken.objects.get(value=connection.token)
    assert long.kind == InstagramToken.LONG
    assert abs((connection.token_expires - long.expires).total_seconds()) < 60
    assert InstagramToken.objects.get(kind=InstagramToken.CODE).used
    assert not PendingAuthorization.objects.exists()

    replayed = browser.get(callback, timeout=10)
    assert replayed.status_code == 400 and replayed.json()["error"] == "oauth_invalid"
    assert ProviderConnection.objects.count() == 1


def test_code_with_the_fragment_in_the_query_is_stripped(sandbox_api, app):
    """Some clients pass `#_` on, encoded into the code: it is not part of the code."""
    browser = requests.Session()
    callback = consent(sandbox_api, app, browser).removesuffix("#_")
    query = parse_qs(urlsplit(callback).query)
    done = browser.get(
        callback.split("?")[0],
        params={"state": query["state"][0], "code": query["code"][0] + "#_"},
        timeout=10,
    )
    assert done.status_code == 200, done.text
    assert ProviderConnection.objects.filter(provider="instagram").count() == 1


def test_other_browser_callback_is_refused(sandbox_api, app):
    callback = consent(sandbox_api, app, requests.Session())
    stolen = requests.get(callback, timeout=10)
    assert stolen.status_code == 400 and stolen.json()["error"] == "oauth_invalid"
    assert not ProviderConnection.objects.exists()
    # The code was never sent to Instagram: still unused.
    assert not InstagramToken.objects.get(kind=InstagramToken.CODE).used


def test_forged_state_and_code_are_refused(sandbox_api, app):
    browser = requests.Session()
    callback = consent(sandbox_api, app, browser)
    query = parse_qs(urlsplit(callback.removesuffix("#_")).query)
    base = callback.split("?")[0]
    forged_state = browser.get(
        base, params={"state": "x" * 43, "code": query["code"][0]}, timeout=10
    )
    assert forged_state.status_code == 400 and forged_state.json()["error"] == "oauth_invalid"
    forged_code = browser.get(
        base, params={"state": query["state"][0], "code": "AQ" + "0" * 40}, timeout=10
    )
    assert forged_code.status_code == 400 and forged_code.json()["error"] == "oauth_invalid"
    assert "Matching code was not found" in forged_code.json()["detail"]
    assert not ProviderConnection.objects.exists()
    # The state was spent by the forged code: the real code cannot use it any more.
    late = browser.get(callback, timeout=10)
    assert late.status_code == 400 and not ProviderConnection.objects.exists()


def test_denied_consent_makes_no_connection(sandbox_api, app):
    browser = requests.Session()
    callback = consent(sandbox_api, app, browser, decision="deny")
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    refused = browser.get(callback, timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "oauth_refused"
    assert not ProviderConnection.objects.exists()


def test_app_auth_keys_are_used_instead_of_the_instance_ones(sandbox_api, app):
    from providers.models import ProviderCredential

    ProviderCredential.objects.create(app=app, provider="instagram", key="123456", secret="s")
    opened = requests.get(
        f"{sandbox_api.url}/api/client/instagram/auth/open",
        params={"key": app.apikey, "token": "t"},
        allow_redirects=False,
        timeout=10,
    )
    assert parse_qs(urlsplit(opened.headers["Location"]).query)["client_id"] == ["123456"]
    # The sandbox knows no such app.
    assert requests.get(opened.headers["Location"], timeout=10).status_code == 400


def test_dump_holds_no_token_in_clear(sandbox_api, app):
    browser = requests.Session()
    browser.get(consent(sandbox_api, app, browser, token="session-secret-token"), timeout=10)
    connection = ProviderConnection.objects.get()
    out = io.StringIO()
    call_command("dumpdata", "providers", stdout=out)
    dump = out.getvalue()
    assert any(row["model"] == "providers.providerconnection" for row in json.loads(dump))
    for clear in (connection.token, "session-secret-token"):
        assert clear and clear not in dump
    assert connection.token.startswith("IGAA")

"""oauthlib's https-only check stays on for the whole process: only URLs under the configured
sandbox base may be plain HTTP (and only with OPENPICKER_INSTAGRAM_ALLOW_HTTP); any other
http:// authorize or token URL is refused before anything is sent."""

import os

import pytest

from providers.errors import ProviderError
from providers.instagram.client import InstagramClient
from providers.sandbox.instagram import catalogue
from providers.sandbox.models import InstagramToken
from tests.providers.test_instagram_adapter import StandInGraph

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("instagram_budget"),
]

CLIENT_ID, SECRET = "990000000000001", "5f4e3d2c1b0a99887766554433221100"
CALLBACK = "http://127.0.0.1:9/api/client/instagram/authCallback/open"


@pytest.fixture
def token_host():
    """A plain-HTTP host that would answer a token request; records what reaches it."""
    host = StandInGraph([(200, {"access_token": "stolen", "user_id": "1"})])
    yield host
    host.stop()


def a_code() -> str:
    return catalogue.issue(
        InstagramToken.CODE,
        CLIENT_ID,
        catalogue.CODE_LIFETIME,
        redirect_uri=CALLBACK,
        scope="instagram_business_basic",
    ).value


def test_the_sandbox_base_is_reached_over_http_without_the_process_wide_switch(
    instagram_sandbox,
):
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    client = InstagramClient(CLIENT_ID, SECRET)
    url = client.authorization_url(CALLBACK, "state-1")
    assert url.startswith(f"{instagram_sandbox}/oauth/authorize?response_type=code&")
    token = client.exchange_code(CALLBACK, a_code())
    assert InstagramToken.objects.get(value=token["access_token"]).kind == InstagramToken.SHORT
    assert token["user_id"] == catalogue.USER["user_id"]
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_a_non_sandbox_http_token_url_is_refused_and_never_called(
    instagram_sandbox, settings, token_host
):
    settings.OPENPICKER_INSTAGRAM_API_BASE = token_host.url
    with pytest.raises(ProviderError) as refused:
        InstagramClient(CLIENT_ID, SECRET).exchange_code(CALLBACK, a_code())
    assert "insecure_transport" in refused.value.detail
    assert token_host.queries == []
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_a_lookalike_of_the_sandbox_base_is_refused(instagram_sandbox, settings, token_host):
    # Same host and a path that merely starts like the sandbox base's.
    settings.OPENPICKER_SANDBOX_INSTAGRAM_BASE = f"{token_host.url}/sandbox/instagram"
    settings.OPENPICKER_INSTAGRAM_API_BASE = f"{token_host.url}/sandbox/instagram-evil"
    with pytest.raises(ProviderError):
        InstagramClient(CLIENT_ID, SECRET).exchange_code(CALLBACK, a_code())
    settings.OPENPICKER_INSTAGRAM_AUTHORIZE_BASE = f"{token_host.url}/elsewhere"
    with pytest.raises(ProviderError):
        InstagramClient(CLIENT_ID, SECRET).authorization_url(CALLBACK, "state-1")
    assert token_host.queries == []


def test_without_allow_http_even_the_sandbox_base_is_refused(instagram_sandbox, settings):
    settings.OPENPICKER_INSTAGRAM_ALLOW_HTTP = False
    code = a_code()
    with pytest.raises(ProviderError):
        InstagramClient(CLIENT_ID, SECRET).authorization_url(CALLBACK, "state-1")
    with pytest.raises(ProviderError):
        InstagramClient(CLIENT_ID, SECRET).exchange_code(CALLBACK, code)
    assert not InstagramToken.objects.filter(value=code, used=True).exists()  # never sent

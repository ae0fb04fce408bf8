"""Instagram's rate limits over real HTTP against the sandbox: a Graph rate-limit refusal (codes
4, 17, 32 and 613, as Instagram sends them) is retried with backoff and, once it passes, the
caller never sees it; when it persists, the caller gets a 429 JSON error (with Retry-After from
Instagram's usage header) and nothing is half-written: no link, no stored object, no event."""

import time

import pytest
import requests

from picker.models import FileLink
from providers.instagram import client
from providers.models import ProviderConnection
from providers.sandbox.instagram import catalogue
from providers.sandbox.models import InstagramThrottle
from tests.conftest import all_stored_keys
from tests.providers.test_instagram_end_to_end import Cloud, connect_in_browser
from webhooks.models import Event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("instagram_budget"),
]

# The server's backoff before the 2nd and 3rd tries: 0.5 s, then 1 s.
BACKOFFS = sum(client.BACKOFF * 2**attempt for attempt in range(client.TRANSIENT_TRIES - 1))


def connected(sandbox_api, app) -> tuple[Cloud, str]:
    cloud = Cloud(sandbox_api.url, app)
    first = cloud("folder/list", clouds={"instagram": {"path": "/"}})
    connect_in_browser(requests.Session(), first["instagram"]["auth"]["redirect_url"])
    return cloud, first["token"]


@pytest.mark.parametrize("code", sorted(catalogue.RATE_LIMITS))
def test_a_passing_rate_limit_is_retried_with_backoff(sandbox_api, app, code):
    cloud, token = connected(sandbox_api, app)
    limit = catalogue.throttle(code, times=client.TRANSIENT_TRIES - 1)
    started = time.monotonic()
    listed = cloud("folder/list", token=token, clouds={"instagram": {"path": "/"}})["instagram"]
    elapsed = time.monotonic() - started
    assert len(listed["contents"]) >= 10 and "auth" not in listed
    limit.refresh_from_db()
    assert limit.refused == client.TRANSIENT_TRIES - 1  # refused twice, answered the third time
    assert elapsed >= BACKOFFS  # with a pause before each retry


def test_the_sandbox_refuses_as_instagram_does(sandbox_api, instagram_sandbox, app):
    cloud, token = connected(sandbox_api, app)
    catalogue.throttle(613, times=1)
    connection = ProviderConnection.objects.get(app=app, provider="instagram")
    reply = requests.get(
        f"{instagram_sandbox}/graph/me/media", params={"access_token": connection.token}, timeout=10
    )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert (error["code"], error["type"]) == (613, "OAuthException")
    assert error["message"] == "(#613) Calls to this api have exceeded the rate limit."
    assert "call_count" in reply.headers["X-App-Usage"]
    assert "estimated_time_to_regain_access" in reply.headers["X-Business-Use-Case-Usage"]


def test_a_persisting_rate_limit_is_a_429_and_the_connection_stays(sandbox_api, app):
    cloud, token = connected(sandbox_api, app)
    limit = catalogue.throttle(17, times=100)
    started = time.monotonic()
    refused = cloud.post("folder/list", token=token, clouds={"instagram": {"path": "/"}})
    assert time.monotonic() - started >= BACKOFFS
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/json"
    assert refused.headers["Retry-After"] == "60"  # the sandbox's estimated_time_to_regain_access
    body = refused.json()
    assert body["error"] == "provider_rate_limited"
    assert body["detail"] == (
        f"Instagram is limiting this app's calls (refused {client.TRANSIENT_TRIES} tries):"
        " Instagram error 17: (#17) User request limit reached"
    )
    limit.refresh_from_db()
    assert limit.refused == client.TRANSIENT_TRIES
    # Not a revoked token: the end user stays connected, and is served once the limit passes.
    assert ProviderConnection.objects.filter(app=app, provider="instagram").exists()
    InstagramThrottle.objects.all().delete()
    listed = cloud("folder/list", token=token, clouds={"instagram": {"path": "/"}})["instagram"]
    assert listed["contents"] and "auth" not in listed


@pytest.mark.parametrize(
    ("store", "after"),
    [
        (None, 0),  # pick: the item's metadata is refused
        ({"location": "s3"}, 0),  # pickAndStore: refused before anything is read
        ({"location": "s3"}, 1),  # pickAndStore: metadata answered, the bytes' lookup refused
    ],
)
def test_a_persisting_rate_limit_leaves_nothing_half_written(sandbox_api, app, store, after):
    cloud, token = connected(sandbox_api, app)
    album = next(p for p in catalogue.media()[0] if p.children)
    item = {"path": f"/{album.id}/{album.children[0].id}"}
    if store is not None:
        item["store"] = store
    keys_before = all_stored_keys()
    limit = catalogue.throttle(4, times=100, after=after)
    refused = cloud.post("store/", token=token, clouds={"instagram": item})
    assert refused.status_code == 429 and refused.json()["error"] == "provider_rate_limited"
    assert "(#4) Application request limit reached" in refused.json()["detail"]
    limit.refresh_from_db()
    assert (limit.after, limit.refused) == (0, client.TRANSIENT_TRIES)
    assert not FileLink.objects.filter(app=app).exists()
    assert not Event.objects.filter(app=app).exists()
    assert all_stored_keys() == keys_before
    # Once the limit passes, the same call writes what it should (so the checks above can fail).
    InstagramThrottle.objects.all().delete()
    done = cloud("store/", token=token, clouds={"instagram": item})["instagram"]
    assert FileLink.objects.filter(app=app, handle=done["handle"]).exists()
    assert Event.objects.filter(app=app, action="fp.upload").exists()
    assert (all_stored_keys() != keys_before) == (store is not None)

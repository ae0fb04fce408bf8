"""The hourly Instagram call budget (OPENPICKER_INSTAGRAM_CALLS_PER_HOUR, by default Instagram's
documented 200 calls per user and hour), per app key and Instagram account, shared by every
process: spent, the next call is a 429 with Retry-After that never reaches Instagram."""

import pytest
from django.conf import settings

from picker.models import FileLink
from providers import limits
from providers.instagram.client import budget_key
from providers.models import ProviderConnection
from providers.sandbox.instagram import catalogue
from providers.sandbox.models import InstagramToken
from tests.providers.conftest import INSTAGRAM_CLIENT_ID
from tests.providers.test_flickr_budget import spend_in_two_processes
from tests.providers.test_instagram_end_to_end import graph_calls
from tests.providers.test_instagram_rate_limit import connected

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("instagram_budget"),
]


def test_the_default_is_the_documented_limit():
    assert settings.OPENPICKER_INSTAGRAM_CALLS_PER_HOUR == 200


def test_every_graph_call_of_the_server_is_counted(sandbox_api, app, instagram_budget):
    cloud, token = connected(sandbox_api, app)  # the long-lived exchange and /me
    cloud("folder/list", token=token, clouds={"instagram": {"path": "/"}})
    assert limits.spent("instagram", instagram_budget) == graph_calls() == 3


def test_a_spent_budget_is_a_429_with_retry_after_and_no_call(sandbox_api, app, instagram_budget):
    cloud, token = connected(sandbox_api, app)
    # The rest of the hour's 200 calls spent by other processes (workers, other web servers).
    budget = settings.OPENPICKER_INSTAGRAM_CALLS_PER_HOUR
    left = budget - limits.spent("instagram", instagram_budget)
    assert sum(spend_in_two_processes(instagram_budget, left, "instagram", budget)) == left
    sent = graph_calls()

    refused = cloud.post("folder/list", token=token, clouds={"instagram": {"path": "/"}})
    assert refused.status_code == 429
    assert refused.json()["error"] == "provider_rate_limited"
    assert "200 calls an hour is spent" in refused.json()["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    path = f"/{catalogue.media()[0][0].id}"
    picked = cloud.post("store/", token=token, clouds={"instagram": {"path": path}})
    assert picked.status_code == 429 and "Retry-After" in picked.headers
    assert graph_calls() == sent  # nothing reached Instagram
    assert not FileLink.objects.filter(app=app).exists()
    assert ProviderConnection.objects.filter(app=app, provider="instagram").exists()

    # Another Instagram account of the same app, and Flickr with the same key, are not spent.
    other = budget_key(INSTAGRAM_CLIENT_ID, "17841400000000002")
    limits.spend("instagram", other, settings.OPENPICKER_INSTAGRAM_CALLS_PER_HOUR)
    limits.forget("instagram", other)
    assert limits.spent("flickr", instagram_budget) == 0

    limits.forget("instagram", instagram_budget)  # a new hour
    listed = cloud("folder/list", token=token, clouds={"instagram": {"path": "/"}})["instagram"]
    assert listed["contents"] and graph_calls() == sent + 1
    assert InstagramToken.objects.filter(calls__gt=0).exists()

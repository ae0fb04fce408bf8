"""The periodic refresh of long-lived Instagram tokens, the clock driven by the test: a token
close to its expiry gets a new one from the sandbox's refresh_access_token; others are left."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from openpicker.celery import app as celery_app
from providers.instagram.provider import refresh_expiring
from providers.models import ProviderConnection
from providers.sandbox.models import InstagramToken
from tests.providers.test_instagram_end_to_end import Cloud, connect_in_browser

pytestmark = pytest.mark.django_db(transaction=True)


def connect(sandbox_api, app) -> tuple[ProviderConnection, str]:
    cloud = Cloud(sandbox_api.url, app)
    first = cloud("folder/list", clouds={"instagram": {"path": "/"}})
    connect_in_browser(requests.Session(), first["instagram"]["auth"]["redirect_url"])
    return ProviderConnection.objects.get(provider="instagram"), first["token"]


def test_token_close_to_expiry_is_refreshed(sandbox_api, instagram_sandbox, app):
    connection, token = connect(sandbox_api, app)
    old = connection.token
    # Fifty-five days later (Instagram refreshes tokens at least a day old only).
    InstagramToken.objects.filter(value=old).update(issued=timezone.now() - timedelta(days=55))
    later = connection.token_expires - timedelta(days=5)
    assert refresh_expiring(now=later) == {"refreshed": 1, "forgotten": 0, "failed": 0}
    connection.refresh_from_db()
    assert connection.token != old
    fresh = InstagramToken.objects.get(value=connection.token)
    assert fresh.kind == InstagramToken.LONG
    assert abs((connection.token_expires - fresh.expires).total_seconds()) < 60
    # The new token is the one used from now on.
    listed = Cloud(sandbox_api.url, app)("folder/list", token=token, clouds={"instagram": {}})
    assert listed["instagram"]["contents"]
    assert InstagramToken.objects.get(value=connection.token).calls == 1


def test_tokens_far_from_expiry_or_expired_are_left(sandbox_api, instagram_sandbox, app):
    connection, _ = connect(sandbox_api, app)
    old = connection.token
    assert refresh_expiring(now=timezone.now()) == {"refreshed": 0, "forgotten": 0, "failed": 0}
    past = connection.token_expires + timedelta(minutes=1)
    assert refresh_expiring(now=past) == {"refreshed": 0, "forgotten": 0, "failed": 0}
    connection.refresh_from_db()
    assert connection.token == old


def test_refused_refreshes(sandbox_api, instagram_sandbox, app):
    connection, _ = connect(sandbox_api, app)
    soon = connection.token_expires - timedelta(days=1)
    # Too young (Instagram refuses tokens under 24 h old): left for the next run.
    assert refresh_expiring(now=soon) == {"refreshed": 0, "forgotten": 0, "failed": 1}
    InstagramToken.objects.update(revoked=True)
    assert refresh_expiring(now=soon) == {"refreshed": 0, "forgotten": 1, "failed": 0}
    assert not ProviderConnection.objects.exists()


def test_beat_runs_the_refresh_task():
    entry = next(
        e
        for e in celery_app.conf.beat_schedule.values()
        if e["task"] == "providers.instagram.refresh_tokens"
    )
    assert entry["schedule"].minute == {7}
    assert "providers.instagram.refresh_tokens" in celery_app.tasks


def test_a_connection_another_run_holds_is_left(sandbox_api, instagram_sandbox, app):
    # Two beats by mistake: while one run holds the connection's claim, the other leaves it.
    from openpicker.models import claim, release

    connection, _ = connect(sandbox_api, app)
    old = connection.token
    InstagramToken.objects.filter(value=old).update(issued=timezone.now() - timedelta(days=55))
    later = connection.token_expires - timedelta(days=5)
    name = f"instagram-refresh:{connection.pk}"
    assert claim(name, 600, later)
    assert refresh_expiring(now=later) == {"refreshed": 0, "forgotten": 0, "failed": 0}
    connection.refresh_from_db()
    assert connection.token == old
    release(name)
    assert refresh_expiring(now=later) == {"refreshed": 1, "forgotten": 0, "failed": 0}
    connection.refresh_from_db()
    assert connection.token != old

"""POST /cloud/auth/logout: the session's connection is forgotten; nobody else's is touched."""

import pytest
import requests

from providers.models import ProviderConnection
from providers.sandbox.models import FlickrNonce
from tests.providers.test_cloud_folder_list import connected_token, folder_list

pytestmark = pytest.mark.django_db(transaction=True)


def logout(sandbox_api, app, token, clouds=None):
    body = {"apikey": app.apikey, "token": token}
    if clouds is not None:
        body["clouds"] = clouds
    return requests.post(f"{sandbox_api.url}/cloud/auth/logout", json=body, timeout=10)


def test_logout_forgets_the_connection(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    sent = FlickrNonce.objects.count()
    done = logout(sandbox_api, app, token, {"flickr": {}})
    assert done.status_code == 200 and done.json() == {"token": token, "logged_out": ["flickr"]}
    assert not ProviderConnection.objects.exists()
    # Flickr has no revocation call: nothing was sent to it.
    assert FlickrNonce.objects.count() == sent
    assert "redirect_url" in folder_list(sandbox_api, app, token).json()["flickr"]["auth"]
    again = logout(sandbox_api, app, token)
    assert again.status_code == 200 and again.json()["logged_out"] == []


def test_logout_without_clouds_covers_every_provider(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    assert logout(sandbox_api, app, token).json()["logged_out"] == ["flickr"]
    assert not ProviderConnection.objects.exists()


def test_logout_cannot_touch_another_apps_or_sessions_connection(sandbox_api, app, other_app):
    token = connected_token(sandbox_api, app)
    assert logout(sandbox_api, other_app, token).json()["logged_out"] == []
    assert logout(sandbox_api, app, "another-session").json()["logged_out"] == []
    assert ProviderConnection.objects.count() == 1
    missing = logout(sandbox_api, app, "")
    assert missing.status_code == 400 and missing.json()["error"] == "token_required"
    unknown = logout(sandbox_api, app, token, {"flickr": {}, "dropbox": {}})
    assert unknown.status_code == 404 and ProviderConnection.objects.count() == 1

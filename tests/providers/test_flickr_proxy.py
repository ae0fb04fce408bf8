"""POST /services/rest/ (node-flickrapi's proxy) against the sandbox Flickr over HTTP."""

import io

import pytest
import requests
from django.conf import settings
from PIL import Image

from providers import limits
from providers.flickr.client import FlickrClient
from providers.models import ProviderConnection
from providers.sandbox.models import FlickrNonce, FlickrUpload
from tests.providers.test_cloud_folder_list import connected_token

pytestmark = pytest.mark.django_db(transaction=True)
PHOTO = "50000000001"


def proxy(sandbox_api, app, token, method, **params):
    body = {"apikey": app.apikey, "token": token, "method": method, **params}
    return requests.post(f"{sandbox_api.url}/services/rest/", json=body, timeout=30)


def sent_to_flickr() -> int:
    return FlickrNonce.objects.count()


def test_read_calls_are_signed_with_the_connection_and_answered_as_flickr_did(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    login = proxy(sandbox_api, app, token, "flickr.test.login")
    assert login.status_code == 200
    assert login.json()["stat"] == "ok" and login.json()["user"]["id"] == "99999999@N00"
    # A form body works too (the browser library posts forms), numbers as Flickr's strings.
    sizes = requests.post(
        f"{sandbox_api.url}/services/rest",
        data={
            "key": app.apikey,
            "token": token,
            "method": "flickr.photos.getSizes",
            "photo_id": PHOTO,
        },
        timeout=30,
    )
    assert sizes.status_code == 200 and sizes.json()["sizes"]["size"][-1]["label"] == "Original"
    # Flickr's own errors come back as Flickr sent them: HTTP 200, stat fail.
    missing = proxy(sandbox_api, app, token, "flickr.photos.getInfo", photo_id="1")
    assert missing.status_code == 200
    assert missing.json() == {"stat": "fail", "code": 1, "message": "Photo not found"}


def test_unauthenticated_callers_are_refused_before_flickr(sandbox_api, app, other_app):
    token = connected_token(sandbox_api, app)
    before = sent_to_flickr()
    cases = [
        (proxy(sandbox_api, app, "", "flickr.test.login"), 401, "not_connected"),
        (proxy(sandbox_api, app, "someone-else", "flickr.test.login"), 401, "not_connected"),
        (proxy(sandbox_api, other_app, token, "flickr.test.login"), 401, "not_connected"),
        (
            requests.post(
                f"{sandbox_api.url}/services/rest/",
                json={"token": token, "method": "flickr.test.login"},
                timeout=10,
            ),
            401,
            "apikey_required",
        ),
    ]
    for reply, status, code in cases:
        assert (reply.status_code, reply.json()["error"]) == (status, code), reply.text
    assert sent_to_flickr() == before


def test_methods_beyond_the_grant_are_refused_before_flickr(sandbox_api, app):
    token = connected_token(sandbox_api, app, perms="read")
    before = sent_to_flickr()
    write = proxy(sandbox_api, app, token, "flickr.photos.setMeta", photo_id=PHOTO, title="x")
    assert write.status_code == 403 and write.json()["error"] == "insufficient_permission"
    assert "write" in write.json()["detail"]
    delete = proxy(sandbox_api, app, token, "flickr.photos.delete", photo_id=PHOTO)
    assert delete.status_code == 403 and delete.json()["error"] == "insufficient_permission"
    # Not on the list at all (checkToken would echo the access token back to the browser).
    for method in ("flickr.auth.oauth.checkToken", "flickr.nope", ""):
        refused = proxy(sandbox_api, app, token, method)
        assert refused.status_code in (400, 403) and refused.json()["error"] in (
            "method_not_allowed",
            "method_required",
        )
    junk = proxy(sandbox_api, app, token, "flickr.photos.getInfo", photo_id={"a": 1})
    assert junk.status_code == 400 and junk.json()["error"] == "invalid_parameter"
    assert sent_to_flickr() == before


def test_a_write_connection_writes_and_writes_are_never_cached(flickr_sandbox, sandbox_api, app):
    token = connected_token(sandbox_api, app, perms="write")
    connection = ProviderConnection.objects.get()
    writer = FlickrClient(
        settings.OPENPICKER_FLICKR_KEY,
        settings.OPENPICKER_FLICKR_SECRET,
        connection.token,
        connection.token_secret,
    )
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(jpeg, "JPEG")
    photo_id = writer.upload(jpeg.getvalue(), "a.jpg", title="Before")
    for title in ("After", "After"):
        before = sent_to_flickr()
        done = proxy(
            sandbox_api, app, token, "flickr.photos.setMeta", photo_id=photo_id, title=title
        )
        assert done.status_code == 200 and done.json() == {"stat": "ok"}
        assert sent_to_flickr() == before + 1
    assert FlickrUpload.objects.get().title == "After"
    delete = proxy(sandbox_api, app, token, "flickr.photos.delete", photo_id=photo_id)
    assert delete.status_code == 403  # Flickr's delete permission is never asked for


@pytest.fixture
def in_process(flickr_sandbox, sandbox_api, app, client):
    """The proxy in this process (its cache and budget settings), Flickr the sandbox over HTTP."""
    token = connected_token(sandbox_api, app)
    limits.forget("flickr", settings.OPENPICKER_FLICKR_KEY)

    def call(method, **params):
        body = {"apikey": app.apikey, "token": token, "method": method, **params}
        return client.post("/services/rest/", body, content_type="application/json")

    yield call
    limits.forget("flickr", settings.OPENPICKER_FLICKR_KEY)


def test_a_cached_read_makes_no_second_call(in_process):
    first = in_process("flickr.photos.getInfo", photo_id=PHOTO)
    before = sent_to_flickr()
    again = in_process("flickr.photos.getInfo", photo_id=PHOTO)
    assert again.status_code == 200 and again.json() == first.json()
    assert sent_to_flickr() == before
    other = in_process("flickr.photos.getInfo", photo_id="50000000002")
    assert other.json()["photo"]["id"] == "50000000002" and sent_to_flickr() == before + 1
    # Failures are not cached: each is asked again.
    in_process("flickr.photos.getInfo", photo_id="1")
    in_process("flickr.photos.getInfo", photo_id="1")
    assert sent_to_flickr() == before + 3


def test_a_spent_budget_is_a_429_with_retry_after_and_no_call(in_process, settings):
    settings.OPENPICKER_FLICKR_CALLS_PER_HOUR = 2
    assert in_process("flickr.test.login").status_code == 200
    assert in_process("flickr.photos.getSizes", photo_id=PHOTO).status_code == 200
    before = sent_to_flickr()
    refused = in_process("flickr.photos.getInfo", photo_id=PHOTO)
    assert refused.status_code == 429
    assert refused.json()["error"] == "provider_rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert sent_to_flickr() == before
    # A cached reply needs no call, so the budget does not stand in its way.
    assert in_process("flickr.test.login").json()["stat"] == "ok"

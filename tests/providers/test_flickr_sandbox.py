"""The fake Flickr over real HTTP, driven by the adapter's client: OAuth dance, REST, upload."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from PIL import Image

from providers.errors import ProviderAuthError, ProviderError
from providers.flickr import adapter
from providers.flickr.client import FlickrClient

pytestmark = pytest.mark.django_db(transaction=True)
CALLBACK = "http://app.example/callback?state=1"


def consent(flickr_sandbox, token: str, perms: str, decision: str) -> dict:
    """Load the consent page, press a button, return the redirect's query."""
    url = FlickrClient(settings.OPENPICKER_FLICKR_KEY, "").authorize_url(token, perms)
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert f'data-testid="{decision}"' in page.text and perms in page.text
    answer = requests.post(
        url.split("?")[0],
        data={"oauth_token": token, "perms": perms, "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("http://app.example/callback?state=1&")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def connect(flickr_sandbox, perms="read") -> FlickrClient:
    client = FlickrClient(settings.OPENPICKER_FLICKR_KEY, settings.OPENPICKER_FLICKR_SECRET)
    request = client.request_token(CALLBACK)
    assert request["oauth_callback_confirmed"] == "true"
    back = consent(flickr_sandbox, request["oauth_token"], perms, "allow")
    assert back["oauth_token"] == request["oauth_token"]
    access = client.access_token(
        request["oauth_token"], request["oauth_token_secret"], back["oauth_verifier"]
    )
    assert access["user_nsid"] == "99999999@N00" and access["username"] == "sandboxuser"
    return FlickrClient(
        client.key, client.secret, access["oauth_token"], access["oauth_token_secret"]
    )


def test_oauth_dance_then_list_photos(flickr_sandbox):
    client = connect(flickr_sandbox)
    assert client.call("flickr.test.login")["user"]["id"] == "99999999@N00"
    first = client.call(
        "flickr.people.getPhotos", user_id="me", per_page="10", extras="url_q,url_o,original_format"
    )
    page = adapter.photos_page(first, "/photostream")
    assert page["page"] == 1 and page["next"] == 2 and page["total"] >= 36
    assert len(page["contents"]) == 10
    assert first["photos"]["total"] == str(page["total"])  # numbers as strings, as Flickr sends
    last = adapter.photos_page(
        client.call("flickr.people.getPhotos", user_id="me", per_page="10", page=str(page["pages"]))
    )
    assert last["next"] is None and 0 < len(last["contents"]) <= 10

    albums = client.call("flickr.photosets.getList")["photosets"]["photoset"]
    assert [a["title"]["_content"] for a in albums] == ["Mountains", "Sea", "City"]
    in_album = adapter.photos_page(
        client.call("flickr.photosets.getPhotos", photoset_id=albums[0]["id"])
    )
    assert len(in_album["contents"]) == 12

    photo_id = in_album["contents"][0]["path"].rsplit("/", 1)[1]
    assert client.call("flickr.photos.getInfo", photo_id=photo_id)["photo"]["id"] == photo_id
    original = adapter.original_size(client.call("flickr.photos.getSizes", photo_id=photo_id))
    image = requests.get(original["source"], timeout=30)
    assert image.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(image.content)) as decoded:
        assert decoded.size == (original["width"], original["height"])
        assert decoded.getexif()[0x010F] == "OpenPicker"
    # The same bytes from every process, and a wrong secret is a 404.
    assert requests.get(original["source"], timeout=30).content == image.content
    assert (
        requests.get(original["source"].replace("_o.jpg", "x_o.jpg"), timeout=10).status_code == 404
    )
    assert client.call("flickr.prefs.getPrivacy")["person"]["privacy"] == 2  # friends only


def test_errors_are_stat_fail_on_http_200(flickr_sandbox):
    client = connect(flickr_sandbox)
    with pytest.raises(ProviderError, match="Photo not found"):
        client.call("flickr.photos.getInfo", photo_id="1")
    with pytest.raises(ProviderError, match="not found"):
        client.call("flickr.photos.nope")
    forged = FlickrClient(client.key, client.secret, client.token, "wrong-secret")
    with pytest.raises(ProviderAuthError, match="Invalid signature"):
        forged.call("flickr.test.login")
    raw = requests.get(
        f"{flickr_sandbox}/services/rest",
        params={"method": "flickr.test.login", "format": "json"},
        timeout=10,
    )
    assert raw.status_code == 200 and raw.json() == {
        "stat": "fail",
        "code": 97,
        "message": "Missing signature",
    }


def test_verifier_and_request_token_are_single_use(flickr_sandbox):
    client = FlickrClient(settings.OPENPICKER_FLICKR_KEY, settings.OPENPICKER_FLICKR_SECRET)
    request = client.request_token(CALLBACK)
    back = consent(flickr_sandbox, request["oauth_token"], "read", "allow")
    with pytest.raises(ProviderError):
        client.access_token(request["oauth_token"], request["oauth_token_secret"], "0" * 16)
    client.access_token(
        request["oauth_token"], request["oauth_token_secret"], back["oauth_verifier"]
    )
    with pytest.raises(ProviderError):
        client.access_token(
            request["oauth_token"], request["oauth_token_secret"], back["oauth_verifier"]
        )


def test_deny_gives_no_verifier(flickr_sandbox):
    client = FlickrClient(settings.OPENPICKER_FLICKR_KEY, settings.OPENPICKER_FLICKR_SECRET)
    request = client.request_token(CALLBACK)
    back = consent(flickr_sandbox, request["oauth_token"], "read", "deny")
    assert back == {
        "state": "1",
        "oauth_token": request["oauth_token"],
        "oauth_problem": "user_refused",
    }


def test_upload_needs_write_and_leaves_the_photo_unsigned(flickr_sandbox):
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(jpeg, "JPEG")
    reader = connect(flickr_sandbox, "read")
    with pytest.raises(ProviderAuthError, match="Insufficient permissions"):
        reader.upload(jpeg.getvalue(), "a.jpg", title="Nope")
    writer = connect(flickr_sandbox, "write")
    photo_id = writer.upload(jpeg.getvalue(), "a.jpg", title="Exported", is_public="0")
    info = writer.call("flickr.photos.getInfo", photo_id=photo_id)["photo"]
    assert info["title"]["_content"] == "Exported" and info["visibility"]["ispublic"] == 0
    original = adapter.original_size(writer.call("flickr.photos.getSizes", photo_id=photo_id))
    assert (original["width"], original["height"]) == (64, 48)

"""A pick's metadata and original: Flickr's calls through requests-oauthlib, the original's URL
(taken from Flickr's reply) only through the outbound guard."""

import copy
import io
import uuid

import pytest
import requests
from django.conf import settings
from PIL import Image

from picker.errors import NotFound, OutboundRefused
from providers import limits
from providers.flickr.provider import FlickrProvider
from providers.models import ProviderConnection
from tests.providers.recorded import PHOTO as STUB_PHOTO
from tests.providers.recorded import RecordedFlickr, recorded
from tests.providers.test_cloud_folder_list import connected_token

pytestmark = pytest.mark.django_db(transaction=True)
PHOTO = "50000000001"


@pytest.fixture
def connection(flickr_sandbox, sandbox_api, app):
    connected_token(sandbox_api, app)
    limits.forget("flickr", settings.OPENPICKER_FLICKR_KEY)
    return ProviderConnection.objects.get()


def test_metadata_links_to_the_photo_page_and_its_short_url(connection):
    meta = FlickrProvider().metadata(connection, f"/albums/72157700000000001/{PHOTO}")
    assert meta["filename"] == "Sandbox photo 01.jpg" and meta["mimetype"] == "image/jpeg"
    assert (meta["width"], meta["height"]) == (1600, 1200)
    assert meta["page_url"] == f"https://www.flickr.com/photos/99999999@N00/{PHOTO}/"
    assert meta["short_url"] == "https://flic.kr/p/2jbk52x"
    with pytest.raises(NotFound):
        FlickrProvider().metadata(connection, "/photostream/../../etc")


def test_the_original_streams_through_the_guard(connection):
    with FlickrProvider().open(connection, f"/photostream/{PHOTO}") as fetched:
        data = fetched.read()
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1600, 1200) and image.getexif()[0x010F] == "OpenPicker"
    sizes = (
        FlickrProvider()
        .client(connection.app, connection)
        .call("flickr.photos.getSizes", photo_id=PHOTO)
    )
    assert data == requests.get(sizes["sizes"]["size"][-1]["source"], timeout=30).content


def test_a_loopback_url_in_a_reply_is_refused_unless_allowed(connection, settings):
    settings.OPENPICKER_OUTBOUND_ALLOW = []  # the sandbox's own host is no longer exempt
    with pytest.raises(OutboundRefused, match="loopback"):
        FlickrProvider().open(connection, f"/photostream/{PHOTO}")


@pytest.mark.parametrize(
    "source",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.0.0.7/secret.jpg",
        "http://[::ffff:127.0.0.1]/x.jpg",
        "http://2130706433/x.jpg",
        "file:///etc/passwd",
    ],
)
def test_private_urls_in_recorded_replies_are_refused(app, settings, source):
    sizes = recorded("photos.getSizes.json")
    tampered = copy.deepcopy(sizes)
    tampered["sizes"]["size"][-1]["source"] = source
    stub = RecordedFlickr({"flickr.photos.getSizes": tampered})
    settings.OPENPICKER_FLICKR_API_BASE = stub.url
    settings.OPENPICKER_FLICKR_KEY, settings.OPENPICKER_FLICKR_SECRET = "recorded-key", "s"
    settings.OPENPICKER_OUTBOUND_ALLOW = []
    limits.forget("flickr", "recorded-key")
    connection = ProviderConnection.objects.create(
        app=app,
        provider="flickr",
        session_digest="d",
        account_id="1@N00",
        token=uuid.uuid4().hex,
        token_secret="ts",
        permissions="read",
    )
    try:
        with pytest.raises(OutboundRefused):
            FlickrProvider().open(connection, "/photostream/15016757708")
        assert stub.calls == ["flickr.photos.getSizes"]  # Flickr was asked, the URL never fetched
    finally:
        stub.stop()
        limits.forget("flickr", "recorded-key")


def test_metadata_from_recorded_replies(app, settings):
    sizes = recorded("photos.getSizes.json")
    stub = RecordedFlickr(
        {"flickr.photos.getInfo": recorded("photos.getInfo.json"), "flickr.photos.getSizes": sizes}
    )
    # The original's URL moved to the stub (farm4.staticflickr.com is not reachable from here).
    sizes["sizes"]["size"][-1]["source"] = f"{stub.url}/photo.jpg"
    settings.OPENPICKER_OUTBOUND_ALLOW = [stub.url.removeprefix("http://")]
    settings.OPENPICKER_FLICKR_API_BASE = stub.url
    settings.OPENPICKER_FLICKR_KEY, settings.OPENPICKER_FLICKR_SECRET = "recorded-key", "s"
    limits.forget("flickr", "recorded-key")
    connection = ProviderConnection.objects.create(
        app=app,
        provider="flickr",
        session_digest="d",
        account_id="1@N00",
        token=uuid.uuid4().hex,
        token_secret="ts",
        permissions="read",
    )
    try:
        meta = FlickrProvider().metadata(connection, "/photostream/34155506782")
    finally:
        stub.stop()
        limits.forget("flickr", "recorded-key")
    assert meta["filename"] == "Urfa.jpg"
    assert meta["page_url"] == "https://www.flickr.com/photos/mhkose/34155506782/"
    assert meta["short_url"] == "https://flic.kr/p/U3cUcY"
    assert (meta["width"], meta["height"]) == (800, 600)  # the Original, strings made ints
    assert meta["size"] == len(STUB_PHOTO)  # from a HEAD through the guard, nothing downloaded
    assert stub.calls == ["flickr.photos.getInfo", "flickr.photos.getSizes", "HEAD /photo.jpg"]

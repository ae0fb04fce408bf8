"""Export to Flickr through the sandbox's upload API: the user's default privacy, a link back."""

import io

import pytest
from django.conf import settings
from PIL import Image

from providers import limits
from providers.errors import ProviderAuthError
from providers.flickr.provider import FlickrProvider
from providers.models import ProviderConnection
from providers.sandbox.models import FlickrUpload
from tests.providers.test_cloud_folder_list import connected_token

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 30)).save(out, "JPEG")
    return out.getvalue()


def connection(sandbox_api, app, perms):
    connected_token(sandbox_api, app, perms=perms)
    limits.forget("flickr", settings.OPENPICKER_FLICKR_KEY)
    return ProviderConnection.objects.get()


def test_export_honours_the_default_privacy_and_links_back(flickr_sandbox, sandbox_api, app):
    writer = connection(sandbox_api, app, "write")
    provider = FlickrProvider()
    meta = provider.export(writer, jpeg(), "red.jpg", description="A red one", tags="red test")
    client = provider.client(app, writer)
    info = client.call("flickr.photos.getInfo", photo_id=meta["id"])["photo"]
    # Friends only: the sandbox user's default, read from flickr.prefs.getPrivacy.
    assert info["visibility"] == {"ispublic": 0, "isfriend": 1, "isfamily": 0}
    assert (info["title"]["_content"], info["description"]["_content"]) == ("red", "A red one")
    assert meta["filename"] == "red.jpg" and (meta["width"], meta["height"]) == (40, 30)
    assert meta["page_url"] == f"https://www.flickr.com/photos/99999999@N00/{meta['id']}/"
    assert meta["path"] == f"/photostream/{meta['id']}" and meta["size"] == len(jpeg())
    with provider.open(writer, meta["path"]) as fetched:
        assert fetched.read() == jpeg()


def test_export_needs_write(flickr_sandbox, sandbox_api, app):
    reader = connection(sandbox_api, app, "read")
    with pytest.raises(ProviderAuthError, match="Insufficient permissions"):
        FlickrProvider().export(reader, jpeg(), "red.jpg")
    assert not FlickrUpload.objects.exists()

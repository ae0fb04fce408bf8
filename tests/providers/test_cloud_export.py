"""POST /cloud/export: a stored file (handle or its URL) uploaded to the sandbox Flickr with the
user's default privacy; the answer is a link to the new photo, announced as fp.export."""

import io

import pytest
import requests
from django.conf import settings
from PIL import Image

from picker import events
from picker.models import FileLink
from providers import limits
from providers.sandbox.models import FlickrUpload
from tests.providers.test_cloud_folder_list import connected_token

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (250, 120, 0)).save(out, "JPEG")
    return out.getvalue()


def stored(base_url, app) -> dict:
    reply = requests.post(
        f"{base_url}/api/store/S3",
        params={"key": app.apikey, "filename": "orange.jpg"},
        data=jpeg(),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def export(base_url, app, token, source: dict, **item):
    body = {"apikey": app.apikey, "token": token, "clouds": {"flickr": item}} | source
    return requests.post(f"{base_url}/cloud/export", json=body, timeout=60)


def test_export_a_stored_file(sandbox_api, app):
    token = connected_token(sandbox_api, app, perms="write")
    source = stored(sandbox_api.url, app)
    done = export(
        sandbox_api.url, app, token, {"handle": source["handle"]}, title="Orange", tags="a b"
    )
    assert done.status_code == 200, done.text
    blob = done.json()["flickr"]
    upload = FlickrUpload.objects.get()
    # The sandbox user's default privacy (friends only), from flickr.prefs.getPrivacy.
    assert (upload.title, upload.is_public, upload.is_friend, upload.is_family) == (
        "Orange",
        False,
        True,
        False,
    )
    photo_id = str(60000000000 + upload.pk)
    link = FileLink.objects.get(handle=blob["handle"])
    assert (link.kind, link.client, link.provider) == (FileLink.Kind.SYMLINK, "Flickr", "Flickr")
    assert blob["source_url"] == f"https://www.flickr.com/photos/99999999@N00/{photo_id}/"
    assert blob["filename"] == "Orange.jpg" and blob["size"] == len(jpeg())
    # The blob points at the new photo: its URL serves the bytes Flickr now holds.
    assert requests.get(blob["url"], timeout=30).content == jpeg()

    # Its own file URL is a handle too (the seeds export Filestack URLs).
    again = export(sandbox_api.url, app, token, {"url": source["url"]})
    assert again.status_code == 200 and FlickrUpload.objects.count() == 2
    assert FlickrUpload.objects.order_by("pk").last().title == "orange"


def test_export_needs_a_write_connection_of_this_app(sandbox_api, app, other_app):
    token = connected_token(sandbox_api, app, perms="read")
    source = stored(sandbox_api.url, app)
    reader = export(sandbox_api.url, app, token, {"handle": source["handle"]})
    assert reader.status_code == 200
    redirect = reader.json()["flickr"]["auth"]["redirect_url"]
    assert redirect.endswith("&perms=write")
    other_source = stored(sandbox_api.url, other_app)
    foreign = export(sandbox_api.url, app, token, {"handle": other_source["handle"]})
    assert foreign.status_code == 403 and foreign.json()["error"] == "wrong_apikey"
    with_other_key = export(sandbox_api.url, other_app, token, {"handle": other_source["handle"]})
    assert "auth" in with_other_key.json()["flickr"]
    private = export(sandbox_api.url, app, token, {"url": "http://10.0.0.1/x.jpg"})
    assert private.status_code == 200 and "auth" in private.json()["flickr"]  # refused before
    nothing = export(sandbox_api.url, app, token, {})
    assert nothing.status_code == 400 and nothing.json()["error"] == "source_required"
    assert not FlickrUpload.objects.exists()


def test_private_source_urls_are_refused_before_flickr(sandbox_api, app):
    token = connected_token(sandbox_api, app, perms="write")
    for url in ("http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/"):
        refused = export(sandbox_api.url, app, token, {"url": url})
        assert refused.status_code == 400 and refused.json()["error"] == "url_refused"
    assert not FlickrUpload.objects.exists()


def test_export_announces_fp_export(flickr_sandbox, sandbox_api, app, client):
    token = connected_token(sandbox_api, app, perms="write")
    limits.forget("flickr", settings.OPENPICKER_FLICKR_KEY)
    source = client.post(
        f"/api/store/S3?key={app.apikey}&filename=orange.jpg", jpeg(), content_type="image/jpeg"
    ).json()
    seen = []

    def receive(event, **kwargs):
        seen.append(event)

    events.recorded.connect(receive)
    try:
        done = client.post(
            "/cloud/export",
            {
                "apikey": app.apikey,
                "token": token,
                "handle": source["handle"],
                "clouds": {"flickr": {}},
            },
            content_type="application/json",
        )
    finally:
        events.recorded.disconnect(receive)
    assert done.status_code == 200, done.content
    (exported,) = seen
    assert exported.action == "fp.export"
    assert exported.text() == {
        "source": source["url"],
        "client": "Flickr",
        "filename": "orange.jpg",
        "created": done.json()["flickr"]["url"],
    }

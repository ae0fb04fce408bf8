"""Symlinks: a handle whose bytes stay at a provider, read through the provider's opener or,
without one, from the source URL through the outbound guard (a real origin server here)."""

import hashlib
import io

import pytest

from conversions import renditions
from conversions.models import Rendition
from picker import events, files, openers
from picker.models import FileLink
from tests.conftest import body
from tests.conversions.conftest import image_bytes
from tests.servers import Origin

pytestmark = pytest.mark.django_db
PHOTO = image_bytes((320, 200), fmt="PNG")


def make_symlink(app, source_url="https://photos.example.com/p/1.png", provider="Sandboxed"):
    return files.create_symlink(
        app,
        client="Flickr",
        provider=provider,
        provider_item_id="53012345",
        source_url=source_url,
        size=len(PHOTO),
        mimetype="image/png",
        filename="sunset.png",
    )


@pytest.fixture
def opener():
    """An opener for the "Sandboxed" provider serving PHOTO; `calls` lists the links opened."""
    calls: list[str] = []
    closed: list[str] = []

    def open_item(link: FileLink) -> openers.Opened:
        calls.append(link.provider_item_id)
        return openers.Opened(
            io.BytesIO(PHOTO).read, len(PHOTO), "image/png", lambda: closed.append(link.handle)
        )

    openers.register("sandboxed", open_item)
    yield calls, closed
    openers.unregister("sandboxed")


@pytest.fixture
def origin():
    server = Origin(PHOTO, "image/png")
    yield server
    server.stop()


def test_create_symlink_makes_a_symlink_and_announces_its_upload(
    app, django_capture_on_commit_callbacks
):
    seen = []
    events.file_event.connect(
        lambda sender, event, **kw: seen.append(event), weak=False, dispatch_uid="test-symlink"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            link = make_symlink(app)
    finally:
        events.file_event.disconnect(dispatch_uid="test-symlink")
    link.refresh_from_db()
    assert link.kind == FileLink.Kind.SYMLINK and link.key == ""
    assert (link.client, link.provider, link.provider_item_id) == (
        "Flickr",
        "Sandboxed",
        "53012345",
    )
    assert (link.size, link.mimetype, link.filename) == (len(PHOTO), "image/png", "sunset.png")
    assert link.source_url == "https://photos.example.com/p/1.png"
    assert [event.action for event in seen] == ["fp.upload"]
    assert not seen[0].stored
    # The seeds' "File Upload (symlink)": no container or key.
    assert seen[0].text() == {
        "url": link.url,
        "client": "Flickr",
        "type": "image/png",
        "filename": "sunset.png",
        "size": len(PHOTO),
    }


def test_reads_metadata_and_conversions_go_through_the_registered_opener(client, app, opener):
    calls, closed = opener
    link = make_symlink(app)
    response = client.get(f"/api/file/{link.handle}")
    assert response.status_code == 200
    assert body(response) == PHOTO
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(PHOTO))
    assert calls == ["53012345"] and closed == [link.handle]

    meta = client.get(f"/api/file/{link.handle}/metadata?width=true&height=true&sha1=true")
    assert meta.json() == {
        "width": 320,
        "height": 200,
        "sha1": hashlib.sha1(PHOTO).hexdigest(),
        "handle": link.handle,
    }
    assert len(calls) == 3  # the header for width/height, the bytes for sha1

    rendition, created = renditions.claim(link, "resize=width:64")
    assert created
    renditions.compute(rendition.pk)
    rendition.refresh_from_db()
    assert rendition.status == Rendition.Status.READY
    assert (rendition.width, rendition.height) == (64, 40)
    assert len(calls) == 4


def test_without_an_opener_the_source_url_is_fetched_through_the_guard(
    client, app, origin, settings
):
    link = make_symlink(app, source_url=origin.url(), provider="Elsewhere")
    refused = client.get(f"/api/file/{link.handle}")
    assert refused.status_code == 400 and refused.json()["error"] == "url_refused"
    assert origin.hits == []

    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{origin.port}"]
    response = client.get(f"/api/file/{link.handle}")
    assert response.status_code == 200 and body(response) == PHOTO
    assert response["Content-Type"] == "image/png"
    meta = client.get(f"/api/file/{link.handle}/metadata?md5=true&width=true").json()
    assert meta["md5"] == hashlib.md5(PHOTO).hexdigest() and meta["width"] == 320
    assert origin.hits == ["/pics/photo.png"] * 3


def test_an_opener_for_another_provider_is_not_used(client, app, origin, opener, settings):
    calls, _ = opener
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{origin.port}"]
    link = make_symlink(app, source_url=origin.url(), provider="Elsewhere")
    assert body(client.get(f"/api/file/{link.handle}")) == PHOTO
    assert calls == [] and origin.hits == ["/pics/photo.png"]


@pytest.mark.parametrize(
    "source_url",
    [
        "http://10.0.0.8/photo.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/photo.png",
        "http://192.168.1.1:8080/photo.png",
        "file:///etc/passwd",
    ],
)
def test_private_and_local_sources_are_refused(client, app, source_url):
    link = make_symlink(app, source_url=source_url, provider="Elsewhere")
    for path in (f"/api/file/{link.handle}", f"/api/file/{link.handle}/metadata?md5=true"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.json()["error"] == "url_refused"
    rendition, _ = renditions.claim(link, "resize=width:64")
    renditions.compute(rendition.pk)
    rendition.refresh_from_db()
    assert rendition.status == Rendition.Status.FAILED and rendition.error_code == "url_refused"

"""Every core event becomes an Event row whose body is the seeds' JSON, in the same transaction."""

import io
from datetime import UTC, datetime

import pytest

from picker import events, files
from picker.models import FileLink
from tests.conversions.conftest import image_bytes
from webhooks.delivery import body_bytes
from webhooks.models import Delivery, Event, WebhookEndpoint

# The keys of the seeds' samples (Instagram/Flickr pages: "The following are examples ...").
UPLOAD_SYMLINK = {"url", "client", "type", "filename", "size"}
UPLOAD_STORED = UPLOAD_SYMLINK | {"container", "key"}
EXPORT = {"source", "client", "filename", "created"}
CONVERSE_LINK_SEED = {
    "writeable", "mimetype", "handle", "url", "created_at", "provider", "app_id", "filename",
    "mongo_id", "_metadata", "access_tokens", "is_folder", "persist", "user_id", "id", "size",
}  # fmt: skip

pytestmark = pytest.mark.django_db
JPEG = image_bytes((8, 8))


def only_event() -> Event:
    (event,) = Event.objects.all()
    return event


def check_envelope(event: Event, action: str) -> dict:
    """The body's top level: action, integer Unix timestamp, integer id (the row's), text."""
    body = event.body()
    assert set(body) == {"action", "timestamp", "id", "text"}
    assert body["action"] == action
    assert isinstance(body["id"], int) and body["id"] == event.pk
    assert isinstance(body["timestamp"], int)
    assert body["timestamp"] == int(event.timestamp.timestamp())
    # The bytes sent are that JSON, the same on every attempt.
    assert body_bytes(event) == body_bytes(Event.objects.get(pk=event.pk))
    return body


def test_a_store_is_an_upload_with_container_and_key(app, store):
    blob = store(app, b"hello hooks", filename="notes.txt", path="docs/").json()
    body = check_envelope(only_event(), "fp.upload")
    assert set(body["text"]) == UPLOAD_STORED
    assert body["text"] == {
        "url": blob["url"],
        "client": "Computer",
        "type": "text/plain",
        "filename": "notes.txt",
        "size": 11,
        "container": blob["container"],
        "key": blob["key"],
    }


def test_a_symlink_is_an_upload_without_container_and_key(app):
    link = files.create_symlink(
        app,
        client="Instagram",
        provider="Instagram",
        provider_item_id="1579337399020824",
        source_url="https://instagram.example/media/1579337399020824.jpg",
        size=139154,
        mimetype="image/jpeg",
        filename="1579337399020824.jpg",
    )
    body = check_envelope(only_event(), "fp.upload")
    assert body["text"] == {
        "url": link.url,
        "client": "Instagram",
        "type": "image/jpeg",
        "filename": "1579337399020824.jpg",
        "size": 139154,
    }
    assert set(body["text"]) == UPLOAD_SYMLINK


def test_an_export_has_source_client_filename_created(app, store):
    handle = store(app, b"x", filename="a.jpg").json()["handle"]
    link = FileLink.objects.get(handle=handle)
    Event.objects.all().delete()
    events.publish(
        events.Export(
            app=app,
            link=link,
            client="Flickr",
            created="https://www.flickr.com/photos/me/1234",
            filename="newFiletest.jpg",
        )
    )
    body = check_envelope(only_event(), "fp.export")
    assert body["text"] == {
        "source": link.url,
        "client": "Flickr",
        "filename": "newFiletest.jpg",
        "created": "https://www.flickr.com/photos/me/1234",
    }
    assert set(body["text"]) == EXPORT


def test_a_conversion_has_url_and_the_link_with_its_provider(app, store):
    handle = store(app, JPEG, filename="1.jpeg").json()["handle"]
    link = FileLink.objects.get(handle=handle)
    Event.objects.all().delete()
    url = f"{link.url}/convert?w=102"
    events.publish(events.Converse(app=app, link=link, url=url))
    body = check_envelope(only_event(), "fp.converse")
    assert set(body["text"]) == {"url", "link"}
    assert body["text"]["url"] == url
    assert set(body["text"]["link"]) <= CONVERSE_LINK_SEED
    assert body["text"]["link"] == {
        "writeable": True,
        "mimetype": "image/jpeg",
        "handle": handle,
        "url": link.key,
        "created_at": link.created_at.isoformat(),
        "provider": "internal",
        "filename": "1.jpeg",
        "size": str(len(JPEG)),
    }


def test_overwrite_and_delete_over_http(client, app, store):
    handle = store(app, b"first", filename="f.txt").json()["handle"]
    response = client.post(
        f"/api/file/{handle}?key={app.apikey}", b"second!", content_type="application/octet-stream"
    )
    assert response.status_code == 200, response.content
    assert client.delete(f"/api/file/{handle}?key={app.apikey}").status_code == 200
    upload, overwrite, delete = Event.objects.order_by("pk")
    assert [e.action for e in (upload, overwrite, delete)] == [
        "fp.upload",
        "fp.overwrite",
        "fp.delete",
    ]
    assert upload.pk < overwrite.pk < delete.pk
    assert check_envelope(overwrite, "fp.overwrite")["text"]["size"] == 7
    link = FileLink.objects.get(handle=handle)
    assert check_envelope(delete, "fp.delete")["text"] == {
        "url": link.url,
        "handle": handle,
        "filename": "f.txt",
        "container": link.container,
        "key": link.key,
    }


def test_dialog_open(app):
    at = datetime(2026, 12, 2, 13, 0, 5, 700000, tzinfo=UTC)
    events.publish(events.DialogOpen(app=app, origin="https://shop.example", at=at))
    body = check_envelope(only_event(), "fp.dialog_open")
    assert body["timestamp"] == 1796216405
    assert body["text"] == {"origin": "https://shop.example"}


def test_every_event_is_stored_and_delivered_only_where_subscribed(app, other_app):
    everything = WebhookEndpoint.objects.create(app=app, url="https://a.example/h", actions=["all"])
    uploads = WebhookEndpoint.objects.create(
        app=app, url="https://b.example/h", actions=["fp.upload"]
    )
    WebhookEndpoint.objects.create(
        app=app, url="https://c.example/h", actions=["all"], active=False
    )
    WebhookEndpoint.objects.create(app=other_app, url="https://d.example/h", actions=["all"])
    events.publish(events.DialogOpen(app=app, origin="https://shop.example"))
    files.store(app, io.BytesIO(b"abc").read, files.StoreOptions(filename="a.txt"))
    dialog, upload = Event.objects.order_by("pk")
    assert {d.endpoint for d in dialog.deliveries.all()} == {everything}
    assert {d.endpoint for d in upload.deliveries.all()} == {everything, uploads}
    # Created due now and already claimed: attempt 1 is queued on commit, not by the sweeper.
    for delivery in Delivery.objects.all():
        assert delivery.status == "pending" and delivery.lease_token
        assert delivery.next_attempt_at <= delivery.lease_until


def test_a_store_rolled_back_leaves_no_event_and_no_delivery(app, endpoint, stored_keys):
    def refuse(sender, event, **kwargs):
        raise RuntimeError("later receiver fails")

    before = stored_keys()
    events.recorded.connect(refuse, dispatch_uid="test-webhooks-refuse")
    try:
        with pytest.raises(RuntimeError, match="later receiver fails"):
            files.store(app, io.BytesIO(b"abc").read, files.StoreOptions(filename="a.txt"))
    finally:
        events.recorded.disconnect(dispatch_uid="test-webhooks-refuse")
    assert not FileLink.objects.exists()
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert stored_keys() == before

"""The events each action announces, after commit, and what a failing subscriber can (not) do.

The rows must really commit for `file_event` to be sent, so these tests use transactional_db.
"""

import io
import logging

import pytest
from django.db import connection

from conversions.models import Rendition
from picker import events, files
from picker.models import FileLink
from tests.conftest import body
from tests.conversions.conftest import (  # noqa: F401 (the worker fixtures)
    conversions_worker,
    converting,
    image_bytes,
)
from tests.picker.test_multipart import Uploader
from tests.servers import Origin

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def announced():
    """Every event sent on `file_event` (after commit), in order."""
    seen: list[events.Event] = []

    def receiver(sender, event, **kwargs):
        seen.append(event)

    events.file_event.connect(receiver, dispatch_uid="test-events")
    yield seen
    events.file_event.disconnect(dispatch_uid="test-events")


def actions(seen) -> list[str]:
    return [event.action for event in seen]


def test_a_store_announces_one_upload_from_computer(app, store, announced):
    response = store(app, b"hello events", filename="notes.txt", path="docs/")
    assert response.status_code == 200, response.content
    blob = response.json()
    assert actions(announced) == ["fp.upload"]
    (upload,) = announced
    assert isinstance(upload, events.Upload) and upload.app == app and upload.stored
    assert upload.text() == {
        "url": blob["url"],
        "client": "Computer",
        "type": "text/plain",
        "filename": "notes.txt",
        "size": 12,
        "container": blob["container"],
        "key": blob["key"],
    }


def test_a_store_from_url_announces_one_upload_from_url(client, app, announced, settings):
    origin = Origin(b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png")
    try:
        settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{origin.port}"]
        response = client.post(f"/api/store/S3?key={app.apikey}", {"url": origin.url()})
    finally:
        origin.stop()
    assert response.status_code == 200, response.content
    assert actions(announced) == ["fp.upload"]
    assert announced[0].client == "URL"
    assert announced[0].text()["key"] == response.json()["key"]
    assert announced[0].link.source_url == origin.url()


def test_a_multipart_upload_announces_one_upload_at_complete(client, app, announced):
    uploader = Uploader(client, app)
    data = bytes(range(256)) * 40
    started = uploader.start(len(data)).json()
    etags = []
    for number, chunk in enumerate((data[:6000], data[6000:]), start=1):
        put = uploader.put(started, number, chunk)
        assert put.status_code == 200, put.content
        etags.append({"part_number": number, "etag": put["ETag"]})
    assert announced == []
    done = uploader.complete(started, etags, len(data))
    assert done.status_code == 200, done.content
    assert actions(announced) == ["fp.upload"]
    assert announced[0].link.handle == done.json()["handle"]


def test_an_overwrite_announces_one_overwrite(client, app, store, announced):
    handle = store(app, b"first").json()["handle"]
    announced.clear()
    response = client.post(
        f"/api/file/{handle}?key={app.apikey}", b"second!", content_type="application/octet-stream"
    )
    assert response.status_code == 200, response.content
    assert actions(announced) == ["fp.overwrite"]
    assert announced[0].link.handle == handle and announced[0].link.version == 2
    assert announced[0].text()["size"] == 7


def test_a_remove_announces_one_delete(client, app, store, announced):
    handle = store(app, b"doomed").json()["handle"]
    announced.clear()
    assert client.delete(f"/api/file/{handle}?key={app.apikey}").status_code == 200
    assert actions(announced) == ["fp.delete"]
    assert announced[0].text()["handle"] == handle
    # Removing again changes nothing and announces nothing.
    client.delete(f"/api/file/{handle}?key={app.apikey}")
    assert actions(announced) == ["fp.delete"]


@pytest.mark.usefixtures("converting")
def test_a_convert_announces_one_converse_when_computed_and_none_from_the_cache(
    client, app, store, announced
):
    handle = store(app, image_bytes((600, 400)), filename="cat.jpg").json()["handle"]
    announced.clear()
    first = client.get(f"/api/file/{handle}/convert?w=120&key={app.apikey}")
    assert first.status_code == 200, first.content
    assert actions(announced) == ["fp.converse"]
    (converse,) = announced
    assert converse.link.handle == handle and converse.stored is None
    assert converse.url.endswith(f"/api/file/{handle}/convert?w=120")
    assert converse.text()["link"]["provider"] == "internal"
    again = client.get(f"/api/file/{handle}/convert?w=120&key={app.apikey}")
    assert again.status_code == 200
    assert actions(announced) == ["fp.converse"]
    assert Rendition.objects.count() == 1


@pytest.mark.usefixtures("converting")
def test_a_stored_convert_announces_exactly_one_converse_and_no_upload(
    client, app, store, announced
):
    handle = store(app, image_bytes((600, 400)), filename="cat.jpg").json()["handle"]
    announced.clear()
    response = client.post(f"/api/file/{handle}/convert?key={app.apikey}", {"w": 100})
    assert response.status_code == 200, response.content
    copy = response.json()["handle"]
    assert actions(announced) == ["fp.converse"]
    (converse,) = announced
    assert converse.link.handle == handle and converse.stored.handle == copy
    assert converse.text()["stored"]["key"] == response.json()["key"]


def test_a_stored_copy_without_operations_announces_one_converse(client, app, store, announced):
    handle = store(app, b"copy me", filename="a.txt").json()["handle"]
    announced.clear()
    response = client.post(f'/cdn/store=path:"copies/"/{handle}?key={app.apikey}')
    assert response.status_code == 200, response.content
    assert actions(announced) == ["fp.converse"]
    assert announced[0].stored.handle == response.json()["handle"]


def test_a_subscriber_that_raises_does_not_change_a_store(client, app, store, caplog):
    def broken(sender, event, **kwargs):
        raise RuntimeError("subscriber is down")

    events.file_event.connect(broken, dispatch_uid="test-broken")
    try:
        with caplog.at_level(logging.ERROR, logger="picker.events"):
            response = store(app, b"still stored")
    finally:
        events.file_event.disconnect(dispatch_uid="test-broken")
    assert response.status_code == 200, response.content
    handle = response.json()["handle"]
    assert FileLink.objects.filter(handle=handle, deleted_at__isnull=True).exists()
    assert body(client.get(f"/api/file/{handle}")) == b"still stored"
    failures = [r for r in caplog.records if r.name == "picker.events"]
    assert len(failures) == 1 and "fp.upload" in failures[0].getMessage()
    assert failures[0].exc_info[1].args == ("subscriber is down",)


def test_recorded_runs_inside_the_transaction_of_the_store(app, announced):
    seen = []

    def record(sender, event, **kwargs):
        # What the webhooks app needs: the row is there, and the transaction is still open.
        seen.append(
            (
                event.action,
                connection.in_atomic_block,
                FileLink.objects.filter(pk=event.link.pk).exists(),
            )
        )

    events.recorded.connect(record, dispatch_uid="test-record")
    try:
        link = files.store(app, io.BytesIO(b"abc").read, files.StoreOptions(filename="a.txt"))
    finally:
        events.recorded.disconnect(dispatch_uid="test-record")
    assert seen == [("fp.upload", True, True)]
    assert [event.link for event in announced] == [link]


def test_a_raise_in_recorded_rolls_the_store_back(app, announced, stored_keys):
    def refuse(sender, event, **kwargs):
        raise RuntimeError("cannot record")

    before = stored_keys()
    events.recorded.connect(refuse, dispatch_uid="test-refuse")
    try:
        with pytest.raises(RuntimeError, match="cannot record"):
            files.store(app, io.BytesIO(b"abc").read, files.StoreOptions(filename="a.txt"))
    finally:
        events.recorded.disconnect(dispatch_uid="test-refuse")
    assert not FileLink.objects.exists()
    assert stored_keys() == before
    assert announced == []


def test_events_are_immutable(app):
    event = events.DialogOpen(app=app, origin="https://example.com")
    with pytest.raises(AttributeError):
        event.origin = "https://evil.example"
    assert event.text() == {"origin": "https://example.com"}
    assert events.ACTIONS == (
        "fp.upload",
        "fp.export",
        "fp.converse",
        "fp.overwrite",
        "fp.delete",
        "fp.dialog_open",
    )

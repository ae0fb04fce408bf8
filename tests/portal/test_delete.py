"""Deleting an app in the portal: its files, renditions and staged parts leave storage (moto's
S3 checked), each removal is announced as fp.delete, and another app's objects stay."""

from __future__ import annotations

import io
import json
from urllib.parse import urlsplit

import pytest
from PIL import Image

from conversions.models import Rendition
from openpicker.celery import app as celery_app
from picker.models import App, FileLink, MultipartPart, MultipartUpload, StorageTarget
from tests.conftest import all_stored_keys
from tests.picker.test_multipart import Uploader
from tests.portal.conftest import bucket_keys

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "portal-delete"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def own_bucket_allowed(moto, settings):
    moto.create_bucket(BUCKET)
    settings.OPENPICKER_OUTBOUND_ALLOW = [
        *settings.OPENPICKER_OUTBOUND_ALLOW,
        urlsplit(moto.url).netloc,
    ]
    return moto


def give_own_bucket(client, app, moto, prefix: str) -> None:
    saved = client.post(
        f"/portal/apps/{app.pk}/storage/",
        {
            "bucket": BUCKET,
            "region": "us-east-1",
            "endpoint_url": moto.url,
            "path_prefix": prefix,
            "access_key_id": "testing",
            "secret_access_key": "testing",
        },
    )
    assert saved.status_code == 302, saved.content
    assert StorageTarget.objects.get(app=app).bucket == BUCKET


def test_delete_leaves_no_object_of_the_app(
    client, as_alice, as_bob, alice_app, bob_app, own_bucket_allowed, receiver, eager, store
):
    moto = own_bucket_allowed
    baseline = all_stored_keys()  # the data dir may keep other tests' leftovers
    give_own_bucket(as_alice, alice_app, moto, "alice")
    give_own_bucket(as_bob, bob_app, moto, "bob")
    hooks = as_alice.post(
        f"/portal/apps/{alice_app.pk}/webhooks/", {"url": receiver.url, "all_actions": "on"}
    )
    assert hooks.status_code == 302

    # Alice: two files in her bucket, and a second app of hers stores in the instance storage...
    stored = [store(alice_app, png(), filename=f"a{n}.png").json() for n in range(2)]
    second = App.objects.create(owner=alice_app.owner, name="second")
    local = store(second, png(), filename="local.png").json()
    # ...a rendition of each (instance storage, internal root)...
    for blob in (*stored, local):
        converted = client.get(f"/cdn/resize=width:20/{blob['handle']}")
        assert converted.status_code == 200, converted.content
    assert Rendition.objects.filter(source__app__owner=alice_app.owner).count() == 3
    # ...and a multipart upload with a staged part in her bucket.
    uploader = Uploader(client, alice_app)
    started = uploader.start(5).json()
    assert uploader.put(started, 1, b"12345").status_code == 200
    staged = MultipartPart.objects.get(upload__app=alice_app).staging_key
    # Bob: one file in the same bucket, which must survive.
    bobs = store(bob_app, png(), filename="bob.png").json()

    alice_keys = {b["key"] for b in stored}
    assert alice_keys | {staged} <= bucket_keys(moto, BUCKET)
    created = all_stored_keys() - baseline
    renditions = set(
        Rendition.objects.filter(source__app__owner=alice_app.owner).values_list("key", flat=True)
    )
    assert len(renditions) == 3 and renditions | {local["key"]} <= created

    # No worker from here on: the deletion itself makes the fp.delete attempts (the rows go
    # with the app, so a queued task would find nothing to send).
    celery_app.conf.task_always_eager = False
    receiver.received.clear()
    for app in (alice_app, second):
        deleted = as_alice.post(f"/portal/apps/{app.pk}/delete/")
        assert deleted.status_code == 302 and deleted["Location"] == "/portal/"

    left = bucket_keys(moto, BUCKET)
    assert left == {bobs["key"]}, left
    assert all_stored_keys() - baseline == set()
    assert not App.objects.filter(pk__in=[alice_app.pk, second.pk]).exists()
    assert not FileLink.objects.filter(app_id__in=[alice_app.pk, second.pk]).exists()
    assert not MultipartUpload.objects.filter(app_id=alice_app.pk).exists()
    assert not Rendition.objects.filter(source__app_id__in=[alice_app.pk, second.pk]).exists()
    # Bob's file still reads.
    assert client.get(f"/api/file/{bobs['handle']}").status_code == 200

    # Each of Alice's first app's files was announced as fp.delete before the rows went.
    announced = [json.loads(r.body) for r in receiver.received]
    deletes = {item["text"]["handle"] for item in announced if item["action"] == "fp.delete"}
    assert deletes == {blob["handle"] for blob in stored}


def test_a_storage_failure_keeps_the_app_and_a_retry_finishes(
    as_alice, alice_app, own_bucket_allowed, store
):
    moto = own_bucket_allowed
    give_own_bucket(as_alice, alice_app, moto, "retry")
    blobs = [store(alice_app, b"x", filename=f"{n}.txt").json() for n in range(2)]
    target = StorageTarget.objects.get(app=alice_app)
    target.endpoint_url = "http://127.0.0.1:9"  # nothing listens: every S3 call fails
    target.save()
    failed = as_alice.post(f"/portal/apps/{alice_app.pk}/delete/")
    assert failed.status_code == 502 and b'data-testid="error"' in failed.content
    assert b"try again" in failed.content
    assert App.objects.filter(pk=alice_app.pk).exists()
    assert {b["key"] for b in blobs} <= bucket_keys(moto, BUCKET)

    target.endpoint_url = moto.url
    target.save()
    done = as_alice.post(f"/portal/apps/{alice_app.pk}/delete/")
    assert done.status_code == 302
    assert not {b["key"] for b in blobs} & bucket_keys(moto, BUCKET)
    assert not App.objects.filter(pk=alice_app.pk).exists()

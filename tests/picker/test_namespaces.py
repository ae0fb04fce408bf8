"""Storage namespaces, from the attacker's side.

App A ("attacker", a public key and nothing else) chooses paths, keys and filenames; app B
("victim") requires policies. Whatever A sends, it never reads, replaces, deletes or blocks B's
objects or the server's own (renditions, staged multipart parts). The instance storage is the
profile's (S3 over HTTP on moto's server in `services`, the filesystem in `embedded`); the own
buckets are on moto's server in both profiles.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from picker import multipart, storage
from picker.models import FileLink, MultipartPart, MultipartUpload, StorageTarget
from tests.conftest import body, server_env
from tests.conversions.conftest import image_bytes, open_image
from tests.picker.test_multipart import Uploader, signed
from tests.picker.test_storage_target import bucket_keys
from tests.servers import CeleryWorker

pytestmark = pytest.mark.django_db

# Every folder name the server uses or used for its own objects, and the app roots.
INTERNAL_NAMES = ("_openpicker", "_renditions", "_multipart", "apps")


@pytest.fixture
def attacker(make_app):
    return make_app("attacker")


@pytest.fixture
def victim(make_app):
    return make_app("victim", security_required=True)


def read(client, app, handle: str) -> bytes:
    response = client.get(f"/api/file/{handle}?{urlencode(signed(app, call=['read']))}")
    assert response.status_code == 200, response
    return body(response)


def object_bytes(handle: str) -> bytes:
    """The bytes in storage behind a handle, read without the API."""
    link = FileLink.objects.get(handle=handle)
    return b"".join(storage.read_range(storage.location_of(link), link.key))


def victim_store(store, victim, data: bytes, **query):
    response = store(victim, data, **query, **signed(victim, call=["store"]))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("path", ["avatars/user-42.png", "avatars/", "/avatars/user-42.png"])
def test_an_app_that_stored_first_never_sees_the_later_apps_bytes(
    client, store, attacker, victim, stored_keys, path
):
    mine = store(attacker, b"A" * 64, filename="user-42.png", path=path).json()
    theirs = victim_store(store, victim, b"B's private bytes", filename="user-42.png", path=path)
    assert body(client.get(f"/api/file/{mine['handle']}")) == b"A" * 64
    assert read(client, victim, theirs["handle"]) == b"B's private bytes"
    assert mine["key"] != theirs["key"]
    assert mine["key"].startswith(f"apps/{attacker.pk}/avatars/")
    assert theirs["key"].startswith(f"apps/{victim.pk}/avatars/")
    assert {mine["key"], theirs["key"]} <= stored_keys()


def test_a_store_at_another_apps_reported_key_changes_nothing(
    client, store, attacker, victim, stored_keys
):
    theirs = victim_store(store, victim, b"B's report", filename="r.pdf", path="private/r.pdf")
    meta_query = urlencode({"size": "true", "md5": "true", **signed(victim, call=["stat"])})
    before = client.get(f"/api/file/{theirs['handle']}/metadata?{meta_query}").json()
    key = theirs["key"]
    victims_keys = {k for k in stored_keys() if not k.startswith(f"apps/{attacker.pk}/")}
    attempts = [key, f"/{key}", f"{key}/", f"../{victim.pk}/private/r.pdf", f"../../{key}"]
    attempts += [f"./{key}", f"a/../../{key}", key.replace("/", "\\"), f"%2e%2e/{key}"]
    for path in attempts:
        response = store(attacker, b"evil", filename="r.pdf", path=path)
        if response.status_code == 200:
            assert response.json()["key"].startswith(f"apps/{attacker.pk}/"), path
        else:
            assert response.status_code == 400 and response.json()["error"] == "invalid_path"
    assert read(client, victim, theirs["handle"]) == b"B's report"
    assert object_bytes(theirs["handle"]) == b"B's report"
    after = client.get(f"/api/file/{theirs['handle']}/metadata?{meta_query}").json()
    assert after == before and after["md5"] == hashlib.md5(b"B's report").hexdigest()
    assert {k for k in stored_keys() if not k.startswith(f"apps/{attacker.pk}/")} == victims_keys


TRICKS = [
    {"path": "../x"},
    {"path": "a/../../x"},
    {"path": "/etc/x"},
    {"path": "//x//"},
    {"path": "..\\x"},
    {"path": "a\\..\\..\\x"},
    {"path": "x\x00y"},
    {"path": "%2e%2e/%2e%2e/x"},
    {"path": "..%2f..%2fx"},
    {"path": "%00/x"},
    {"path": "apps/{victim}/x"},
    {"path": "_openpicker/renditions/x"},
    {"filename": "../x"},
    {"filename": "..\\x"},
    {"filename": "a/b"},
    {"filename": ".."},
    {"filename": "x\x00.png"},
    {"filename": "%2e%2e%2fx"},
    {"container": "another-bucket"},
    {"container": "../x"},
]


@pytest.mark.parametrize("trick", TRICKS, ids=[repr(t) for t in TRICKS])
def test_no_parameter_leaves_the_apps_root(client, store, attacker, victim, stored_keys, trick):
    theirs = victim_store(store, victim, b"untouched", filename="x", path="x")
    others = {k for k in stored_keys() if not k.startswith(f"apps/{attacker.pk}/")}
    query = {name: value.format(victim=victim.pk) for name, value in trick.items()}
    response = store(attacker, b"evil", **{"filename": "f.txt", **query})
    if response.status_code == 200:
        assert response.json()["key"].startswith(f"apps/{attacker.pk}/")
    else:
        assert response.status_code in {400, 403}, response.content
    assert {k for k in stored_keys() if not k.startswith(f"apps/{attacker.pk}/")} == others
    assert object_bytes(theirs["handle"]) == b"untouched"


@pytest.mark.parametrize(
    "path", ["../x", "/abs/x", "a\\b", "apps/{victim}/x", "_openpicker/x", "../../_openpicker/x"]
)
def test_legacy_store_path_of_a_convert_stays_in_the_root(client, store, attacker, victim, path):
    """`storePath` of the legacy convert call (a copy when no operation is asked)."""
    source = store(attacker, b"source", filename="s.txt").json()
    response = client.post(
        f"/api/file/{source['handle']}/convert?key={attacker.apikey}",
        {"storeLocation": "S3", "storePath": path.format(victim=victim.pk)},
    )
    if response.status_code == 200:
        assert response.json()["key"].startswith(f"apps/{attacker.pk}/")
    else:
        assert response.status_code == 400, response.content


def test_removing_a_link_keeps_an_object_another_live_link_uses(client, victim, store, stored_keys):
    """Two stores of one app at one path share an object on S3 (the filesystem renames)."""
    first = victim_store(store, victim, b"first", filename="a", path="same/a.txt")
    second = victim_store(store, victim, b"second", filename="a", path="same/a.txt")
    remove = urlencode({"key": victim.apikey, **signed(victim, call=["remove"])})
    assert client.delete(f"/api/file/{first['handle']}?{remove}").status_code == 200
    assert read(client, victim, second["handle"]) == b"second"
    assert second["key"] in stored_keys()
    assert client.delete(f"/api/file/{second['handle']}?{remove}").status_code == 200
    assert not {first["key"], second["key"]} & stored_keys()


def test_overwriting_a_link_keeps_an_object_another_live_link_uses(client, victim, store):
    first = victim_store(store, victim, b"first", filename="a", path="same/a.txt")
    second = victim_store(store, victim, b"second", filename="a", path="same/a.txt")
    write = urlencode({"key": victim.apikey, **signed(victim, call=["write"])})
    response = client.post(
        f"/api/file/{first['handle']}?{write}",
        data=b"rewritten",
        content_type="application/octet-stream",
    )
    assert response.status_code == 200, response.content
    assert read(client, victim, first["handle"]) == b"rewritten"
    assert read(client, victim, second["handle"]) == b"second"
    assert object_bytes(second["handle"]) == b"second"


@pytest.fixture
def shared_bucket(moto, attacker, victim):
    """Two apps whose own S3 settings name the same bucket (the operator's choice)."""
    moto.create_bucket("shared-bucket")
    for app in (attacker, victim):
        StorageTarget.objects.create(
            app=app,
            bucket="shared-bucket",
            region="us-east-1",
            endpoint_url=moto.url,
            access_key_id="testing",
            secret_access_key="testing",
        )
    return "shared-bucket"


def test_removing_a_link_in_a_shared_bucket_keeps_the_other_apps_object(
    client, store, attacker, victim, shared_bucket, moto
):
    mine = store(attacker, b"A's", filename="same.txt", path="same.txt").json()
    theirs = victim_store(store, victim, b"B's", filename="same.txt", path="same.txt")
    assert mine["key"] == theirs["key"] == "same.txt"
    assert client.delete(f"/api/file/{mine['handle']}?key={attacker.apikey}").status_code == 200
    assert "same.txt" in bucket_keys(moto, shared_bucket)
    assert read(client, victim, theirs["handle"]) == b"B's"


def test_expiring_an_upload_keeps_a_file_stored_at_its_old_staging_key(
    client, store, attacker, stored_keys
):
    """Before namespaces parts were staged at `_multipart/<id>/<n>`, which an app could store at."""
    location = storage.location_for(attacker)
    legacy = storage.write(location, "_multipart/old/00001", io.BytesIO(b"a file"), "text/plain")
    link = FileLink.objects.create(
        app=attacker,
        filename="00001",
        size=6,
        key=legacy,
        container=location.container,
        region=location.region,
    )
    upload = MultipartUpload.objects.create(
        upload_id="old", app=attacker, filename="x", size=6, container=location.container
    )
    MultipartPart.objects.create(upload=upload, number=1, size=6, etag="e", staging_key=legacy)
    MultipartUpload.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert multipart.expire_abandoned() == 1
    assert body(client.get(f"/api/file/{link.handle}")) == b"a file"
    assert legacy in stored_keys()


def _internal_name_stores(store, attacker, victim_pk: int, victim_handle: str) -> list[dict]:
    """A stores files named like every internal folder, with path tricks; all land in its root."""
    # Plain names first: files exactly where the server's folders would be without namespaces.
    responses = [store(attacker, b"blocker", filename="b", path=name) for name in INTERNAL_NAMES]
    assert all(response.status_code == 200 for response in responses)
    paths = []
    for name in INTERNAL_NAMES:
        paths += [f"{name}/", f"/{name}", f"{name}/x", f"//{name}//", f"../{name}"]
    paths += ["_openpicker/renditions", "_openpicker/multipart", "_openpicker/multipart/"]
    paths += [f"_openpicker/renditions/{victim_handle}", f"apps/{victim_pk}", f"apps/{victim_pk}/"]
    responses += [store(attacker, b"blocker", filename="b", path=path) for path in paths]
    responses += [store(attacker, b"blocker", filename=name) for name in INTERNAL_NAMES]
    blobs = [response.json() for response in responses if response.status_code == 200]
    for blob in blobs:
        assert blob["key"].startswith(f"apps/{attacker.pk}/"), blob
    for response in responses:
        # On the filesystem A's own `x` file stops A's own later `x/...` (a 400, for A only);
        # `../` is refused.
        assert response.status_code == 200 or response.json()["error"] == "invalid_path"
    return blobs


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def multipart_round(client, app, creds: dict, data: bytes, staged=None) -> dict:
    """A whole multipart upload of `data` in two parts; returns the completed blob.

    `staged(upload_id)` is called between the last part and complete.
    """
    uploader = Uploader(client, app, creds)
    started = uploader.start(len(data))
    assert started.status_code == 200, started.content
    started = started.json()
    half = len(data) // 2
    parts = []
    for number, chunk in ((1, data[:half]), (2, data[half:])):
        response = uploader.put(started, number, chunk)
        assert response.status_code == 200, response.content
        parts.append({"part_number": number, "etag": response["ETag"]})
    if staged is not None:
        staged(started["upload_id"])
    done = uploader.complete(started, parts, len(data))
    assert done.status_code == 200, done.content
    return done.json()


def test_files_named_like_internal_folders_block_no_multipart_upload(
    client, store, attacker, victim, stored_keys
):
    theirs = victim_store(store, victim, b"x", filename="x")
    _internal_name_stores(store, attacker, victim.pk, theirs["handle"])
    data = os.urandom(5000)
    staging = []

    def staged_in_the_internal_root(upload_id):
        staging.append(f"_openpicker/multipart/{upload_id}/")
        assert len([k for k in stored_keys() if k.startswith(staging[0])]) == 2

    blob = multipart_round(
        client, victim, signed(victim, call=["store"]), data, staged_in_the_internal_root
    )
    assert read(client, victim, blob["handle"]) == data
    assert blob["key"].startswith(f"apps/{victim.pk}/")
    assert not [key for key in stored_keys() if key.startswith(staging[0])]


@pytest.fixture
def own_bucket(moto, victim, request):
    bucket = f"victim-{uuid.uuid4().hex[:12]}"
    moto.create_bucket(bucket)
    return StorageTarget.objects.create(
        app=victim,
        bucket=bucket,
        region="us-east-1",
        endpoint_url=moto.url,
        path_prefix=request.param,
        access_key_id="testing",
        secret_access_key="testing",
    )


@pytest.mark.parametrize("own_bucket", ["", "tenant"], indirect=True)
def test_own_bucket_keeps_the_apps_keys_and_refuses_its_internal_root(
    client, store, victim, own_bucket, moto
):
    prefix = f"{own_bucket.path_prefix}/" if own_bucket.path_prefix else ""
    chosen = victim_store(store, victim, b"chosen", filename="c", path="avatars/u.png")
    assert chosen["key"] == f"{prefix}avatars/u.png"
    for path in ("_openpicker", "_openpicker/", "/_openpicker/multipart/x", "_openpicker/x/"):
        response = store(victim, b"no", filename="n", path=path, **signed(victim, call=["store"]))
        assert response.status_code == 400 and response.json()["error"] == "invalid_path"
    for name in ("_renditions", "_multipart", "apps"):
        assert victim_store(store, victim, b"ok", path=f"{name}/")["key"].startswith(prefix + name)
    data = os.urandom(3000)

    def staged_in_the_internal_root(upload_id):
        keys = bucket_keys(moto, own_bucket.bucket)
        assert (
            len([k for k in keys if k.startswith(f"{prefix}_openpicker/multipart/{upload_id}/")])
            == 2
        )

    blob = multipart_round(
        client, victim, signed(victim, call=["store"]), data, staged_in_the_internal_root
    )
    assert read(client, victim, blob["handle"]) == data
    keys = bucket_keys(moto, own_bucket.bucket)
    assert not [key for key in keys if "_openpicker" in key]
    assert all(key.startswith(prefix) for key in keys)


@pytest.fixture(scope="module")
def conversions_worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worker = CeleryWorker(server_env(), queues="conversions")
    yield worker
    worker.stop()


def test_files_named_like_internal_folders_block_no_conversion(
    conversions_worker, transactional_db, client, store, attacker, victim, stored_keys
):
    photo = victim_store(store, victim, image_bytes((300, 200), "PNG"), filename="p.png")
    _internal_name_stores(store, attacker, victim.pk, photo["handle"])
    security = signed(victim, call=["convert"])
    task = f"security=p:{security['policy']},s:{security['signature']}"
    started = time.monotonic()
    response = client.get(f"/cdn/{task}/resize=width:30/{photo['handle']}")
    assert response.status_code == 200, (response.content, conversions_worker.output()[-2000:])
    assert time.monotonic() - started < 15
    assert open_image(body(response)).size == (30, 20)
    rendered = f"_openpicker/renditions/{photo['handle']}/"
    assert len([key for key in stored_keys() if key.startswith(rendered)]) == 1

"""Small objects of the instance storage (S3, filesystem) kept in memory: read once per key and
ETag, never stale after an overwrite, never for an app's own bucket, bounded in bytes."""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.files.base import ContentFile
from django.test import RequestFactory

from picker import objectcache, storage
from picker.objectcache import SMALL_FILE, ObjectCache
from picker.responses import stored_response
from picker.s3 import S3Storage
from picker.storage import Location, Stored


@pytest.fixture
def bucket(moto):
    name = f"cache-{uuid.uuid4().hex[:12]}"
    moto.create_bucket(name)
    return S3Storage(
        bucket_name=name,
        endpoint_url=moto.url,
        access_key="testing",
        secret_key="testing",
        region_name="us-east-1",
        file_overwrite=True,
        default_acl=None,
    )


@pytest.fixture
def reads(monkeypatch):
    """Every read of an object's bytes from storage, by key."""
    seen: list[str] = []
    read_range = storage.read_range

    def counting(location, key, *args):
        seen.append(key)
        return read_range(location, key, *args)

    monkeypatch.setattr(storage, "read_range", counting)
    return seen


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(objectcache, "_cache", None)


def serve(location: Location, key: str, etag: str, size: int) -> bytes:
    request = RequestFactory().get("/api/file/x")
    item = Stored(location, key, size, etag, "application/octet-stream", "x.bin")
    response = stored_response(request, item, download=False, cache="public")
    assert response.status_code == 200 and response["Content-Length"] == str(size)
    return b"".join(response)


def test_instance_objects_are_read_once_per_key_and_etag(bucket, reads):
    instance = Location(bucket, bucket.bucket_name, "internal", "us-east-1", None)
    first, second = os.urandom(2048), os.urandom(2048)
    bucket.save("apps/1/a.bin", ContentFile(first))
    assert serve(instance, "apps/1/a.bin", '"' + "a" * 32 + '-1"', 2048) == first
    assert serve(instance, "apps/1/a.bin", '"' + "a" * 32 + '-1"', 2048) == first
    assert reads == ["apps/1/a.bin"]
    # The bytes under the key change only with a new ETag (an overwrite bumps the version).
    bucket.save("apps/1/a.bin", ContentFile(second))
    assert serve(instance, "apps/1/a.bin", '"' + "b" * 32 + '-2"', 2048) == second
    assert reads == ["apps/1/a.bin"] * 2


def test_an_apps_own_bucket_and_rows_without_a_digest_are_read_every_time(bucket, reads):
    from picker.models import StorageTarget

    own = Location(bucket, bucket.bucket_name, "amazon", "us-east-1", StorageTarget(pk=1))
    instance = Location(bucket, bucket.bucket_name, "internal", "us-east-1", None)
    data = os.urandom(100)
    bucket.save("k.bin", ContentFile(data))
    for location, etag in [(own, '"' + "c" * 32 + '-1"'), (instance, '"-1"')]:
        reads.clear()
        assert serve(location, "k.bin", etag, 100) == data
        assert serve(location, "k.bin", etag, 100) == data
        assert reads == ["k.bin", "k.bin"]


def test_large_objects_stream_and_are_not_kept(bucket, reads):
    instance = Location(bucket, bucket.bucket_name, "internal", "us-east-1", None)
    data = os.urandom(SMALL_FILE + 1)
    bucket.save("big.bin", ContentFile(data))
    for _ in range(2):
        assert serve(instance, "big.bin", '"' + "d" * 32 + '-1"', len(data)) == data
    assert reads == ["big.bin", "big.bin"]
    assert objectcache.cache().size == 0


def test_the_setting_turns_it_off(bucket, reads, settings):
    settings.OPENPICKER_SMALL_OBJECT_CACHE = 0
    instance = Location(bucket, bucket.bucket_name, "internal", "us-east-1", None)
    bucket.save("k.bin", ContentFile(b"x" * 10))
    for _ in range(2):
        assert serve(instance, "k.bin", '"' + "e" * 32 + '-1"', 10) == b"x" * 10
    assert reads == ["k.bin", "k.bin"]


def test_the_least_recently_used_go_first_within_the_budget():
    kept = ObjectCache(budget=10)
    kept.put(("a",), b"123456")
    kept.put(("b",), b"1234")
    assert kept.get(("a",)) == b"123456"  # now the most recently used
    kept.put(("c",), b"1")  # 11 bytes, one over: the least recently used (b) goes
    assert (kept.get(("b",)), kept.get(("a",)), kept.get(("c",))) == (None, b"123456", b"1")
    assert kept.size == 7
    kept.put(("huge",), b"x" * 11)  # more than the whole budget: not kept, nothing evicted
    assert kept.get(("huge",)) is None and kept.size == 7
    kept.put(("a",), b"1")  # replaced: its old size no longer counts
    assert kept.size == 2


def test_the_instance_filesystem_storage_is_kept_too(tmp_path, reads):
    from django.core.files.storage import FileSystemStorage

    local = FileSystemStorage(location=str(tmp_path))
    instance = Location(local, "", "internal", None, None)
    data = os.urandom(2048)
    local.save("apps/1/f.bin", ContentFile(data))
    etag = '"' + "f" * 32 + '-1"'
    assert serve(instance, "apps/1/f.bin", etag, 2048) == data
    assert serve(instance, "apps/1/f.bin", etag, 2048) == data
    assert reads == ["apps/1/f.bin"]
    # A new version is read (its ETag differs), even though the file kept its name.
    newer = os.urandom(2048)
    local.delete("apps/1/f.bin")
    local.save("apps/1/f.bin", ContentFile(newer))
    assert serve(instance, "apps/1/f.bin", '"' + "f" * 32 + '-2"', 2048) == newer
    assert reads == ["apps/1/f.bin"] * 2

"""The multipart upload flow over the API, in-process: start, signed PUTs, complete."""

import base64
import hashlib
import os
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from picker import multipart
from picker.models import FileLink, MultipartPart, MultipartUpload
from tests.conftest import body

pytestmark = pytest.mark.django_db


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class Uploader:
    """The SDKs' calls; `creds` (a policy and signature) go with every JSON request."""

    def __init__(self, client, app, creds=None):
        self.client, self.app, self.creds = client, app, creds or {}

    def post(self, path, payload):
        return self.client.post(
            f"/upload/multipart/{path}", {**self.creds, **payload}, content_type="application/json"
        )

    def start(self, size, **extra):
        payload = {
            "apikey": self.app.apikey,
            "filename": "big.bin",
            "mimetype": "application/octet-stream",
            "size": size,
            "store": {"location": "s3"},
            **extra,
        }
        return self.post("start", payload)

    def put(self, started, number, chunk, md5=None):
        target = self.post(
            "upload",
            {
                "apikey": self.app.apikey,
                "part": number,
                "size": len(chunk),
                "md5": md5 or md5_b64(chunk),
                "uri": started["uri"],
                "region": started["region"],
                "upload_id": started["upload_id"],
                "store": {"location": "s3"},
            },
        )
        assert target.status_code == 200, target.content
        url = urlsplit(target.json()["url"])
        return self.client.put(
            f"{url.path}?{url.query}",
            chunk,
            content_type="application/octet-stream",
            headers=target.json()["headers"],
        )

    def complete(self, started, parts, size, **extra):
        return self.post(
            "complete",
            {
                "apikey": self.app.apikey,
                "upload_id": started["upload_id"],
                "uri": started["uri"],
                "region": started["region"],
                "filename": "big.bin",
                "size": size,
                "store": {"location": "s3"},
                "parts": parts,
                **extra,
            },
        )


@pytest.fixture
def uploader(client, app):
    return Uploader(client, app)


def test_three_parts_assemble_in_order(client, uploader, stored_keys):
    data = os.urandom(250_000)
    chunks = [data[:100_000], data[100_000:200_000], data[200_000:]]
    started = uploader.start(len(data))
    assert started.status_code == 200
    started = started.json()
    assert set(started) >= {"uri", "region", "upload_id", "location_url"}
    etags = {}
    for number in (3, 1, 2):  # parts may arrive in any order
        response = uploader.put(started, number, chunks[number - 1])
        assert response.status_code == 200
        etags[number] = response["ETag"]
        assert etags[number].strip('"') == hashlib.md5(chunks[number - 1]).hexdigest()
    parts = [{"part_number": n, "etag": etags[n]} for n in (1, 2, 3)]
    done = uploader.complete(started, parts, len(data))
    assert done.status_code == 200, done.content
    blob = done.json()
    assert blob["size"] == len(data) and blob["filename"] == "big.bin"
    assert blob["status"] == "Stored"
    assert body(client.get(f"/api/file/{blob['handle']}")) == data
    assert not MultipartPart.objects.exists()
    assert not any(
        key.startswith(f"_openpicker/multipart/{started['upload_id']}") for key in stored_keys()
    )
    again = uploader.complete(started, parts, len(data))
    assert again.json()["handle"] == blob["handle"]


def test_part_with_wrong_md5_is_refused_and_not_kept(uploader, stored_keys):
    started = uploader.start(10).json()
    response = uploader.put(started, 1, b"0123456789", md5=md5_b64(b"something else"))
    assert response.status_code == 400
    assert response.json()["error"] == "part_corrupt"
    assert not MultipartPart.objects.exists()
    assert not any(
        key.startswith(f"_openpicker/multipart/{started['upload_id']}") for key in stored_keys()
    )


def test_tampered_part_url_is_refused(client, uploader):
    started = uploader.start(10).json()
    response = client.put(
        f"/upload/multipart/part/{started['upload_id']}/1?size=10&md5="
        f"{md5_b64(b'0123456789')}&signature={'0' * 64}",
        b"0123456789",
        content_type="application/octet-stream",
    )
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_signature"


def test_complete_with_missing_part_or_wrong_size(uploader):
    started = uploader.start(20).json()
    first = uploader.put(started, 1, b"a" * 10)
    missing = uploader.complete(started, [{"part_number": 2, "etag": first["ETag"]}], 20)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_parts"
    short = uploader.complete(started, [{"part_number": 1, "etag": first["ETag"]}], 20)
    assert short.status_code == 400 and short.json()["error"] == "size_mismatch"
    assert not FileLink.objects.exists()


def test_start_refuses_bad_input(uploader, app, other_app):
    assert uploader.start(0).json()["error"] == "invalid_parameter"
    assert uploader.start(10, filename="../x").json()["error"] == "invalid_filename"
    assert uploader.start(10, store={"location": "s3", "path": "../"}).status_code == 400
    assert uploader.start(10, apikey="nope").status_code == 401
    started = uploader.start(10).json()
    stranger = Uploader(uploader.client, other_app)
    assert (
        stranger.post(
            "upload",
            {
                "apikey": other_app.apikey,
                "part": 1,
                "size": 10,
                "md5": md5_b64(b"x" * 10),
                "upload_id": started["upload_id"],
            },
        ).status_code
        == 404
    )


def test_declared_size_over_max_size_is_refused_at_start(uploader, settings):
    settings.OPENPICKER_MAX_UPLOAD_BYTES = 1000
    response = uploader.start(1001)
    assert response.status_code == 413
    assert not MultipartUpload.objects.exists()


def test_abandoned_uploads_expire_with_their_parts(uploader, stored_keys):
    started = uploader.start(10).json()
    uploader.put(started, 1, b"0123456789")
    staged = f"_openpicker/multipart/{started['upload_id']}/"
    assert any(key.startswith(staged) for key in stored_keys())
    assert multipart.expire_abandoned() == 0
    MultipartUpload.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert multipart.expire_abandoned() == 1
    assert not MultipartUpload.objects.exists()
    assert not any(key.startswith(staged) for key in stored_keys())

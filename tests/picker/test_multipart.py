"""The multipart upload flow over the API, in-process: start, signed PUTs, complete."""

import base64
import hashlib
import io
import os
import socket
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.utils import timezone

from picker import multipart, policies, storage
from picker.models import App, FileLink, MultipartPart, MultipartUpload
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

    def target(self, started, number, size, md5, **extra):
        """POST /multipart/upload: the URL and headers of a part's PUT."""
        payload = {
            "apikey": self.app.apikey,
            "part": number,
            "size": size,
            "md5": md5,
            "uri": started["uri"],
            "region": started["region"],
            "upload_id": started["upload_id"],
            "store": {"location": "s3"},
        }
        return self.post("upload", {**payload, **extra})

    def send(self, target, chunk):
        """The PUT of a part's bytes to the URL /multipart/upload gave."""
        url = urlsplit(target["url"])
        return self.client.put(
            f"{url.path}?{url.query}",
            chunk,
            content_type="application/octet-stream",
            headers=target["headers"],
        )

    def put(self, started, number, chunk, md5=None):
        target = self.target(started, number, len(chunk), md5 or md5_b64(chunk))
        assert target.status_code == 200, target.content
        return self.send(target.json(), chunk)

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


def staged_for(stored_keys, upload_id: str) -> list[str]:
    """The objects staged for an upload, listed from the storage itself."""
    return [key for key in stored_keys() if key.startswith(f"_openpicker/multipart/{upload_id}/")]


def assert_aborted(response, upload_id, stored_keys):
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "upload_too_large"
    assert not MultipartUpload.objects.filter(upload_id=upload_id).exists()
    assert not MultipartPart.objects.exists()
    assert staged_for(stored_keys, upload_id) == []


def test_put_beyond_the_declared_size_is_refused_and_nothing_stays_staged(uploader, stored_keys):
    started = uploader.start(10).json()
    # Both URLs are issued while nothing is staged; together they would stage 20 bytes.
    first = uploader.target(started, 1, 10, md5_b64(b"a" * 10)).json()
    second = uploader.target(started, 2, 10, md5_b64(b"b" * 10)).json()
    assert uploader.send(first, b"a" * 10).status_code == 200
    assert len(staged_for(stored_keys, started["upload_id"])) == 1
    assert_aborted(uploader.send(second, b"b" * 10), started["upload_id"], stored_keys)
    gone = uploader.complete(started, [{"part_number": 1, "etag": "x"}], 10)
    assert gone.status_code == 404


def test_part_url_beyond_the_declared_size_is_refused(uploader, stored_keys):
    started = uploader.start(10).json()
    assert uploader.put(started, 1, b"a" * 10).status_code == 200
    # Sending part 1 again replaces it, so it fits; a part 2 of even one byte does not.
    assert uploader.put(started, 1, b"c" * 10).status_code == 200
    assert len(staged_for(stored_keys, started["upload_id"])) == 1
    refused = uploader.target(started, 2, 1, md5_b64(b"b"))
    assert_aborted(refused, started["upload_id"], stored_keys)


@pytest.fixture
def secured(make_app):
    return make_app("secured", security_required=True)


def signed(app, **policy) -> dict:
    """A valid policy and signature of `app`, as the SDKs send them."""
    policy.setdefault("expiry", int(time.time()) + 600)
    encoded = policies.encode(policy)
    return {"policy": encoded, "signature": policies.sign(encoded, app.secret)}


def test_put_beyond_the_policys_max_size_is_refused(client, secured, stored_keys):
    uploader = Uploader(client, secured, signed(secured, call=["store"], maxSize=100))
    started = uploader.start(100).json()
    targets = [uploader.target(started, n, 60, md5_b64(b"p" * 60)).json() for n in (1, 2)]
    assert uploader.send(targets[0], b"p" * 60).status_code == 200
    assert_aborted(uploader.send(targets[1], b"p" * 60), started["upload_id"], stored_keys)


def test_part_url_over_the_max_size_of_the_policy_presented_is_refused(
    client, secured, stored_keys
):
    uploader = Uploader(client, secured, signed(secured, call=["store"], maxSize=1000))
    started = uploader.start(100).json()
    assert uploader.put(started, 1, b"p" * 40).status_code == 200
    smaller = signed(secured, call=["store"], maxSize=50)
    refused = uploader.target(started, 2, 20, md5_b64(b"q" * 20), **smaller)
    assert_aborted(refused, started["upload_id"], stored_keys)


def test_put_over_a_lowered_instance_cap_is_refused(uploader, settings, stored_keys):
    started = uploader.start(100).json()
    target = uploader.target(started, 1, 60, md5_b64(b"c" * 60)).json()
    settings.OPENPICKER_MAX_UPLOAD_BYTES = 50
    assert_aborted(uploader.send(target, b"c" * 60), started["upload_id"], stored_keys)


def test_every_step_needs_a_policy_when_the_app_requires_one(client, secured, stored_keys):
    policy = signed(secured, call=["store"])
    uploader = Uploader(client, secured, policy)
    assert Uploader(client, secured).start(10).json()["error"] == "policy_required"
    started = uploader.start(10).json()
    # No policy in the request, and a `uri` that does not carry start's either.
    stripped = {**started, "uri": f"/{started['upload_id']}"}
    bare = Uploader(client, secured)
    refused = bare.target(stripped, 1, 10, md5_b64(b"a" * 10))
    assert refused.status_code == 403 and refused.json()["error"] == "policy_required"
    wrong_call = Uploader(client, secured, signed(secured, call=["read"]))
    refused = wrong_call.target(started, 1, 10, md5_b64(b"a" * 10))
    assert refused.status_code == 403 and refused.json()["error"] == "policy_call"
    forged = Uploader(client, secured, {**policy, "signature": "0" * 64})
    refused = forged.target(started, 1, 10, md5_b64(b"a" * 10))
    assert refused.status_code == 403 and refused.json()["error"] == "invalid_signature"
    forged_uri = {**started, "uri": started["uri"].replace(policy["signature"], "0" * 64)}
    refused = bare.target(forged_uri, 1, 10, md5_b64(b"a" * 10))
    assert refused.status_code == 403 and refused.json()["error"] == "invalid_signature"
    assert staged_for(stored_keys, started["upload_id"]) == []
    # filestack-python sends no policy with /multipart/upload: start's, in `uri`, is checked.
    target = bare.target(started, 1, 10, md5_b64(b"a" * 10))
    assert target.status_code == 200, target.content
    put = bare.send(target.json(), b"a" * 10)
    assert put.status_code == 200
    parts = [{"part_number": 1, "etag": put["ETag"]}]
    refused = bare.complete(stripped, parts, 10)
    assert refused.status_code == 403 and refused.json()["error"] == "policy_required"
    assert uploader.complete(started, parts, 10).status_code == 200


def test_start_policy_in_the_uri_stops_working_when_it_expires(client, secured):
    uploader = Uploader(client, secured, signed(secured, call=["store"], expiry=time.time() + 2))
    started = uploader.start(10).json()
    bare = Uploader(client, secured)
    assert bare.target(started, 1, 10, md5_b64(b"a" * 10)).status_code == 200
    time.sleep(2.1)
    refused = bare.target(started, 1, 10, md5_b64(b"a" * 10))
    assert refused.status_code == 403 and refused.json()["error"] == "policy_expired"


def test_a_part_url_ends_with_the_policy_that_issued_it(client, secured, stored_keys):
    uploader = Uploader(client, secured, signed(secured, call=["store"], expiry=time.time() + 2))
    started = uploader.start(10).json()
    target = uploader.target(started, 1, 10, md5_b64(b"a" * 10)).json()
    query = dict(parse_qsl(urlsplit(target["url"]).query))
    assert int(query["expires"]) <= time.time() + 2
    longer = {**target, "url": target["url"].replace(query["expires"], str(10**10))}
    tampered = uploader.send(longer, b"a" * 10)
    assert tampered.status_code == 403 and tampered.json()["error"] == "invalid_signature"
    time.sleep(max(0, int(query["expires"]) + 1.1 - time.time()))
    expired = uploader.send(target, b"a" * 10)
    assert expired.status_code == 403 and expired.json()["error"] == "part_url_expired"
    assert staged_for(stored_keys, started["upload_id"]) == []


def test_bytes_in_flight_count_against_the_limit(live_api, transactional_db):
    """Part 1's PUT reserves its size before its bytes arrive: a part 2 over the limit while
    part 1 streams aborts the upload, and part 1's bytes are not kept when they end."""
    from tests.conftest import all_stored_keys

    app = App.objects.create(name="in-flight")
    api = f"{live_api.url}/upload/multipart"
    started = requests.post(
        f"{api}/start", json={"apikey": app.apikey, "filename": "f", "size": 20}, timeout=10
    ).json()

    def target(number, data):
        payload = {"apikey": app.apikey, "upload_id": started["upload_id"], "part": number}
        payload |= {"size": len(data), "md5": md5_b64(data)}
        return requests.post(f"{api}/upload", json=payload, timeout=10).json()

    first, second = target(1, b"a" * 20), target(2, b"b" * 5)
    url = urlsplit(first["url"])
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: 20\r\n"
            f"Connection: close\r\n\r\n".encode()
            + b"a" * 10
        )
        deadline = time.monotonic() + 10
        while not MultipartPart.objects.filter(receiving_since__isnull=False).exists():
            assert time.monotonic() < deadline, "part 1 was never reserved"
            time.sleep(0.05)
        refused = requests.put(second["url"], data=b"b" * 5, headers=second["headers"], timeout=10)
        assert refused.status_code == 413 and refused.json()["error"] == "upload_too_large"
        sock.sendall(b"a" * 10)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert b" 404 " in reply.split(b"\r\n", 1)[0], reply[-600:]
    assert not MultipartUpload.objects.filter(upload_id=started["upload_id"]).exists()
    assert not [k for k in all_stored_keys() if started["upload_id"] in k]


def test_a_part_being_received_is_not_sent_twice_until_its_lease_ends(uploader, stored_keys):
    started = uploader.start(10).json()
    target = uploader.target(started, 1, 10, md5_b64(b"a" * 10)).json()
    upload = MultipartUpload.objects.get(upload_id=started["upload_id"])
    location = storage.location_for(upload.app)
    # What a PUT that is still streaming (or whose process died) leaves: a reservation.
    stale_key = storage.internal_key(location, "multipart", upload.upload_id, "00001-dead")
    storage.write(location, stale_key, io.BytesIO(b"half"), "application/octet-stream")
    MultipartPart.objects.create(
        upload=upload,
        number=1,
        size=10,
        etag="",
        staging_key=stale_key,
        receiving_since=timezone.now(),
    )
    busy = uploader.send(target, b"a" * 10)
    assert busy.status_code == 409 and busy.json()["error"] == "part_in_progress"
    MultipartPart.objects.update(receiving_since=timezone.now() - multipart.PART_LEASE)
    assert uploader.send(target, b"a" * 10).status_code == 200
    assert stale_key not in stored_keys()
    assert len(staged_for(stored_keys, upload.upload_id)) == 1

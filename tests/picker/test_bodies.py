"""Request bodies are bounded: nothing is spooled before the key is known, a form upload spools
at most its cap, and a slow body is cut at its deadline (a real gunicorn process, real sockets).

Each refused body below is sent only in part: a server that read (or spooled) it before
refusing would wait for the rest, and answer 408 when the read timeout ends that wait.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from picker import multipart, policies
from picker.models import App, FileLink
from tests.conftest import all_stored_keys, server_env
from tests.servers import OpenPickerServer

pytestmark = pytest.mark.usefixtures("transactional_db")

MiB = 1024 * 1024
READ_TIMEOUT = 1.0
DEADLINE = 3.0
BOUNDARY = "b0unds-7d93c0a1"


@pytest.fixture(scope="module")
def bounded_api(django_db_setup, django_db_blocker, tmp_path_factory):
    """OpenPicker under gunicorn with its spool and temp dir in a folder the test can list."""
    spool = tmp_path_factory.mktemp("spool")
    with django_db_blocker.unblock():
        server = OpenPickerServer(
            server_env(
                OPENPICKER_UPLOAD_TEMP_DIR=str(spool),
                TMPDIR=str(spool),
                OPENPICKER_BODY_DEADLINE=str(DEADLINE),
                OPENPICKER_BODY_READ_TIMEOUT=str(READ_TIMEOUT),
            )
        )
    server.spool = spool
    yield server
    server.stop()


def spooled(spool: Path) -> dict[str, int]:
    """The files in the spool folder and their sizes (gunicorn's own unlinked files aside)."""
    found = {}
    for entry in os.scandir(spool):
        try:
            found[entry.name] = entry.stat().st_size
        except FileNotFoundError:
            pass
    return found


class SpoolWatch:
    """Samples the spool folder while a request runs; remembers the largest file seen."""

    def __init__(self, spool: Path):
        self.spool, self.largest, self._stop = spool, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self.largest = max([self.largest, *spooled(self.spool).values()])
            time.sleep(0.002)


def exchange(server, head: str, chunks: Iterable[bytes], *, timeout: float = 10):
    """Send `head`, then `chunks` from a thread; (status, JSON body, seconds to the answer).

    The answer is read while the body may still be unsent, as a server that answers early
    leaves it.
    """
    url = urlsplit(server.url)
    sock = socket.create_connection((url.hostname, url.port))
    sock.settimeout(timeout)

    def send():
        try:
            sock.sendall(head.encode())
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed without reading the rest

    started = time.monotonic()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        payload = response.read()
        elapsed = time.monotonic() - started
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        sender.join(timeout)
    return response.status, json.loads(payload), elapsed


def request_head(method: str, path: str, content_type: str, length: int) -> str:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )


def form_upload(size: int, sent: int) -> tuple[str, int, list[bytes]]:
    """A multipart/form-data `fileUpload` of `size` bytes, of which only `sent` are sent."""
    preamble = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fileUpload"; '
        f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    epilogue = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(preamble) + size + len(epilogue)
    content = preamble + b"\x07" * sent
    return f"multipart/form-data; boundary={BOUNDARY}", length, [content]


@pytest.fixture
def victim(db):
    """An app and one of its files, for the routes that name a handle."""
    app = App.objects.create(name="bodies")
    link = FileLink.objects.create(app=app, filename="a.bin", key="a.bin", size=1)
    return app, link


def keyless_routes(handle: str) -> list[tuple[str, str, int, str]]:
    md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
    part = urlencode({"size": 8 * MiB, "md5": md5, "signature": "0" * 64})
    return [
        ("POST", "/process", 413, "too_large"),
        ("POST", "/process/process", 413, "too_large"),
        ("POST", "/upload/multipart/start", 413, "too_large"),
        ("POST", "/upload/multipart/upload", 413, "too_large"),
        ("POST", "/upload/multipart/complete", 413, "too_large"),
        ("PUT", f"/upload/multipart/part/u-1/1?{part}", 403, "invalid_signature"),
        ("POST", f"/api/file/{handle}/convert?resize_width=10", 413, "too_large"),
        ("POST", f"/api/file/{handle}/remove", 413, "too_large"),
        ("POST", "/api/store/S3?filename=big.bin", 401, None),
        ("POST", f"/api/file/{handle}", 401, None),
    ]


def test_a_form_upload_without_a_key_is_refused_unread(bounded_api, victim):
    """8 MiB of multipart/form-data, 3 MiB of it sent, to every route that takes a body."""
    _, link = victim
    before = all_stored_keys()
    for method, path, status, code in keyless_routes(link.handle):
        content_type, length, chunks = form_upload(8 * MiB, 3 * MiB)
        with SpoolWatch(bounded_api.spool) as watch:
            got, reply, _ = exchange(
                bounded_api, request_head(method, path, content_type, length), chunks
            )
        assert got == status, (path, reply)
        if code is not None:
            assert reply["error"] == code, (path, reply)
        assert set(reply) == {"error", "detail"}
        assert watch.largest == 0, path
        assert spooled(bounded_api.spool) == {}, path
    assert all_stored_keys() == before


def test_the_key_routes_refuse_a_big_json_body_by_its_length(bounded_api):
    """A JSON body over the cap is refused from its Content-Length, before it is read."""
    head = request_head("POST", "/process", "application/json", 8 * MiB)
    status, reply, _ = exchange(bounded_api, head, [b'{"apikey": "' + b"k" * MiB])
    assert (status, reply["error"]) == (413, "too_large")


def test_a_form_upload_over_the_policy_max_size_spools_at_most_that(bounded_api):
    app = App.objects.create(name="capped", security_required=True)
    cap = 1 * MiB
    encoded = policies.encode({"expiry": int(time.time()) + 600, "call": ["store"], "maxSize": cap})
    query = urlencode(
        {
            "key": app.apikey,
            "filename": "big.bin",
            "policy": encoded,
            "signature": policies.sign(encoded, app.secret),
        }
    )
    before = all_stored_keys()
    content_type, length, chunks = form_upload(8 * MiB, 3 * MiB)
    with SpoolWatch(bounded_api.spool) as watch:
        status, reply, _ = exchange(
            bounded_api,
            request_head("POST", f"/api/store/S3?{query}", content_type, length),
            chunks,
        )
    assert (status, reply["error"]) == (413, "too_large"), reply
    assert str(cap) in reply["detail"]
    assert watch.largest <= cap
    assert spooled(bounded_api.spool) == {}
    assert not FileLink.objects.filter(app=app).exists()
    assert all_stored_keys() == before


def test_a_form_upload_within_the_cap_is_stored(bounded_api):
    app = App.objects.create(name="fits")
    content = os.urandom(3 * MiB)
    content_type, length, (preamble,) = form_upload(len(content), 0)
    body = preamble + content + f"\r\n--{BOUNDARY}--\r\n".encode()
    assert len(body) == length
    head = request_head(
        "POST", f"/api/store/S3?key={app.apikey}&filename=f.bin", content_type, length
    )
    status, reply, _ = exchange(bounded_api, head, [body])
    assert status == 200, reply
    assert reply["size"] == len(content)
    # Django deletes the spooled upload when the request finishes, which is after the reply
    # reaches the client: give it a moment, then the folder must be empty.
    deadline = time.monotonic() + 5
    while spooled(bounded_api.spool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spooled(bounded_api.spool) == {}


def _trickle(first: bytes, piece: bytes, every: float, count: int):
    yield first
    for _ in range(count):
        time.sleep(every)
        yield piece


@pytest.mark.parametrize("route", ["store", "form", "process"])
def test_a_stalled_body_is_cut_by_the_read_timeout(bounded_api, route):
    app = App.objects.create(name="stalled")
    before = all_stored_keys()
    head, first = _slow_request(app, route)
    status, reply, elapsed = exchange(bounded_api, head, [first])
    assert (status, reply["error"]) == (408, "body_timeout"), reply
    assert "no byte" in reply["detail"]
    assert READ_TIMEOUT <= elapsed < DEADLINE
    assert not FileLink.objects.filter(app=app).exists()
    assert all_stored_keys() == before


@pytest.mark.parametrize("route", ["store", "form", "process"])
def test_a_trickling_body_is_cut_at_the_deadline(bounded_api, route):
    """A byte every 0.4 s never trips the 1 s read timeout; the 3 s deadline ends it."""
    app = App.objects.create(name="trickling")
    before = all_stored_keys()
    head, first = _slow_request(app, route)
    chunks = _trickle(first, b"1", READ_TIMEOUT * 0.4, 100)
    status, reply, elapsed = exchange(bounded_api, head, chunks)
    assert (status, reply["error"]) == (408, "body_timeout"), reply
    assert f"within {DEADLINE:g} seconds" in reply["detail"]
    assert DEADLINE <= elapsed < DEADLINE + 2
    assert not FileLink.objects.filter(app=app).exists()
    assert all_stored_keys() == before


def _slow_request(app, route: str) -> tuple[str, bytes]:
    """A request announcing 100,000 body bytes, and the first few of them."""
    if route == "store":
        path = f"/api/store/S3?key={app.apikey}&filename=slow.bin"
        return request_head("POST", path, "application/octet-stream", 100_000), b"x" * 1000
    if route == "form":
        path = f"/api/store/S3?key={app.apikey}&filename=slow.bin"
        content_type, length, (first,) = form_upload(100_000, 1000)
        return request_head("POST", path, content_type, length), first
    return request_head("POST", "/process", "application/json", 100_000), b'{"apikey": "'


def test_multipart_constants_still_fit_the_body_cap():
    """The largest body a key route takes (complete with every part) is under the cap."""
    from django.conf import settings

    parts = [{"part_number": n, "etag": "0" * 32} for n in range(1, multipart.MAX_PARTS + 1)]
    body = json.dumps({"apikey": "k" * 20, "upload_id": "u" * 64, "parts": parts})
    assert len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# -- absurd Range numbers and deeply nested JSON: a 4xx in the error shape, never a 500 --------

DIGITS = "7" * 4300


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={DIGITS}-",
        f"bytes=-{DIGITS}",
        f"bytes=0-{DIGITS}",
        f"bytes={DIGITS[:4000]}-{DIGITS[:4000]}",  # both, within gunicorn's 8190-byte header
        "bytes=" + "0" * 5000 + "1-",
        "bytes=12345678901234567890-",
    ],
)
def test_absurd_range_numbers_are_416(bounded_api, header):
    app = App.objects.create(name="ranges")
    stored = requests.post(
        f"{bounded_api.url}/api/store/S3?key={app.apikey}&filename=r.bin",
        data=b"0123456789",
        timeout=10,
    )
    assert stored.status_code == 200, stored.text
    handle = stored.json()["handle"]
    for path in (f"/api/file/{handle}", f"/cdn/{handle}"):
        response = requests.get(bounded_api.url + path, headers={"Range": header}, timeout=10)
        assert response.status_code == 416, (path, response.text[:200])
        assert response.json()["error"] == "range_not_satisfiable"
    # A 19-digit end is a plain over-long range: the whole file, as RFC 9110 says.
    whole = requests.get(
        f"{bounded_api.url}/api/file/{handle}",
        headers={"Range": "bytes=0-9999999999999999999"},
        timeout=10,
    )
    assert (whole.status_code, whole.content) == (206, b"0123456789")


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a": ' * depth + leaf + "}" * depth


@pytest.mark.parametrize(
    "path", ["/process", "/upload/multipart/start", "/upload/multipart/complete"]
)
@pytest.mark.parametrize(
    "document",
    [
        "[" * 10_000 + "]" * 10_000,
        nested(10_000),
        '{"apikey": "k", "tasks": ' + "[" * 33 + "]" * 33 + "}",
    ],
    ids=["array-10000", "object-10000", "tasks-33"],
)
def test_deeply_nested_json_is_400(bounded_api, path, document):
    response = requests.post(
        bounded_api.url + path,
        data=document,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400, response.text[:200]
    assert response.json()["error"] == "parse_error"
    assert "nested deeper than 32 levels" in response.json()["detail"]


def test_json_nested_to_the_limit_is_parsed(bounded_api):
    """32 levels pass the parser: the call then fails on what the body says, not its shape."""
    document = '{"apikey": "nokey", "sources": ["http://x/"], "extra": ' + nested(31) + "}"
    response = requests.post(
        bounded_api.url + "/process",
        data=document,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 401, response.text[:200]
    assert response.json()["error"] != "parse_error"

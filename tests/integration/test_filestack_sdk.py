"""The real filestack-python 4.x SDK against OpenPicker server processes over HTTPS.

The SDK hard-codes https://cdn.<CNAME> and https://upload.<CNAME>; the `sdk` fixture points those
(and API_URL) at a server's path routes /cdn, /upload and /api, and trusts the server's self-signed
certificate through REQUESTS_CA_BUNDLE, so TLS is verified for real. The servers are separate
processes on the test database, hence `transactional_db`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import filestack
import pytest
import requests
from filestack import Client, Filelink, Security
from filestack.exceptions import FilestackHTTPError

from tests.conftest import all_stored_keys, server_env
from tests.servers import OpenPickerServer

pytestmark = pytest.mark.usefixtures("transactional_db")

MIB = 1024 * 1024
BIG_SIZE = 12 * MIB  # three 5 MiB SDK chunks: 5 + 5 + 2
ALL_CALLS = ["store", "read", "stat", "remove"]
REMOTE_BYTES = b"id,name\n" + b"".join(b"%d,row-%d\n" % (i, i) for i in range(5000))


def point_sdk(monkeypatch, server: OpenPickerServer) -> str:
    """Send the SDK's cdn./upload./API hosts to the server's path routes; trust its cert."""
    base = server.url
    monkeypatch.setattr(filestack.CFG, "CDN_URL", property(lambda self: base + "/cdn"))
    monkeypatch.setattr(
        filestack.CFG,
        "MULTIPART_START_URL",
        property(lambda self: base + "/upload/multipart/start"),
    )
    monkeypatch.setattr(filestack.config, "API_URL", base + "/api")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert))
    return base


@pytest.fixture
def sdk(tls_api, monkeypatch):
    point_sdk(monkeypatch, tls_api)
    return tls_api


@pytest.fixture
def create_app():
    """Apps made through the ORM (committed: the servers read them from their own connections)."""
    from picker.models import App

    def make(name: str, *, security_required: bool = False) -> App:
        return App.objects.create(name=name, security_required=security_required)

    return make


def policy(app, *, calls=ALL_CALLS, expires_in: int = 600, **fields) -> Security:
    return Security({"expiry": int(time.time()) + expires_in, "call": calls, **fields}, app.secret)


def refusal(excinfo) -> tuple[int, dict]:
    """The HTTP status and JSON body behind a FilestackHTTPError."""
    exc = excinfo.value
    assert isinstance(exc, FilestackHTTPError)
    status = exc.__cause__.response.status_code
    body = json.loads(str(exc))
    assert set(body) >= {"error", "detail"}, body
    return status, body


def random_file(tmp_path, size: int, name: str = "payload.bin") -> tuple[str, bytes]:
    # A fixed text prefix keeps magic-number sniffing from ever matching the random bytes.
    data = b"OPENPICKER-SDK-TEST\n" + os.urandom(size - 20)
    path = tmp_path / name
    path.write_bytes(data)
    return str(path), data


# -- 1. no policy: multipart upload of several chunks, metadata, read, delete ------------------


def test_multipart_upload_read_metadata_delete_without_policy(sdk, create_app, tmp_path):
    app = create_app("open")
    path, data = random_file(tmp_path, BIG_SIZE)
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()

    filelink = Client(app.apikey).upload(filepath=path)

    # What the server answered to the multipart complete (the SDK passes it through).
    stored = filelink.upload_response
    assert stored["size"] == BIG_SIZE
    assert stored["filename"] == "payload.bin"
    assert stored["status"] == "Stored"
    assert stored["url"] == f"{sdk.url}/api/file/{stored['handle']}"
    assert requests.get(stored["url"], timeout=30).content == data

    default = filelink.metadata()
    assert default["size"] == BIG_SIZE
    assert default["filename"] == "payload.bin"
    assert default["mimetype"] == "application/octet-stream"
    assert default["handle"] == filelink.handle
    assert default["path"] in all_stored_keys()
    assert {"uploaded", "writeable", "location", "container"} <= set(default)

    chosen = filelink.metadata(["size", "filename", "mimetype", "md5"])
    assert chosen == {
        "size": BIG_SIZE,
        "filename": "payload.bin",
        "mimetype": "application/octet-stream",
        "md5": md5,
        "handle": filelink.handle,
    }

    assert filelink.get_content() == data
    target = tmp_path / "downloaded.bin"
    assert filelink.download(str(target)) == BIG_SIZE
    assert target.read_bytes() == data

    filelink.delete(security=policy(app, calls=["remove"]))  # raises on any 4xx/5xx reply

    assert default["path"] not in all_stored_keys()
    with pytest.raises(FilestackHTTPError) as read_after:
        filelink.get_content()
    assert refusal(read_after) == (
        404,
        {"error": "file_not_found", "detail": "no file with this handle"},
    )
    with pytest.raises(FilestackHTTPError) as stat_after:
        filelink.metadata()
    assert refusal(stat_after)[:1] == (404,)
    assert refusal(stat_after)[1]["error"] == "file_not_found"


# -- 2. an app that requires policies ----------------------------------------------------------


def test_policy_app_allows_everything_with_a_policy(sdk, create_app, tmp_path):
    app = create_app("locked", security_required=True)
    sec = policy(app)
    path, data = random_file(tmp_path, 6 * MIB, name="signed.bin")

    filelink = Client(app.apikey, security=sec).upload(filepath=path)

    meta = filelink.metadata(["size", "filename", "md5"])
    assert meta["size"] == 6 * MIB
    assert meta["filename"] == "signed.bin"
    assert meta["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert filelink.get_content() == data
    # The URL the server returned is refused bare and served with the SDK's signature.
    bare = requests.get(filelink.upload_response["url"], timeout=30)
    assert (bare.status_code, bare.json()["error"]) == (403, "policy_required")
    assert requests.get(filelink.signed_url(), timeout=30).content == data

    filelink.delete()

    with pytest.raises(FilestackHTTPError) as after:
        filelink.get_content()
    assert refusal(after)[0] == 404


def test_policy_app_refuses_every_call_without_a_policy(sdk, create_app):
    app = create_app("locked", security_required=True)
    data = b"guarded bytes\n" * 100
    filelink = Client(app.apikey, security=policy(app)).upload(file_obj=io.BytesIO(data))
    bare = Filelink(filelink.handle, apikey=app.apikey)

    with pytest.raises(FilestackHTTPError) as upload:
        Client(app.apikey).upload(file_obj=io.BytesIO(b"no policy"))
    with pytest.raises(FilestackHTTPError) as stat:
        bare.metadata()
    with pytest.raises(FilestackHTTPError) as read:
        bare.get_content()
    for excinfo in (upload, stat, read):
        status, body = refusal(excinfo)
        assert status == 403
        assert body["error"] == "policy_required"
        assert "requires a policy" in body["detail"]

    # The SDK will not send a delete without a policy; the server refuses a bare one too ...
    response = requests.delete(
        f"{sdk.url}/api/file/{filelink.handle}", params={"key": app.apikey}, timeout=10
    )
    assert response.status_code == 403
    assert response.json()["error"] == "policy_required"
    # ... and a policy that does not allow remove.
    with pytest.raises(FilestackHTTPError) as delete:
        bare.delete(security=policy(app, calls=["read", "stat"]))
    status, body = refusal(delete)
    assert (status, body["error"]) == (403, "policy_call")
    assert "'remove'" in body["detail"]

    assert filelink.get_content() == data


def test_policy_app_refuses_an_expired_policy(sdk, create_app):
    app = create_app("locked", security_required=True)
    data = b"expiring\n" * 50
    filelink = Client(app.apikey, security=policy(app)).upload(file_obj=io.BytesIO(data))
    expired = policy(app, expires_in=-60)

    with pytest.raises(FilestackHTTPError) as upload:
        Client(app.apikey, security=expired).upload(file_obj=io.BytesIO(b"late"))
    with pytest.raises(FilestackHTTPError) as stat:
        filelink.metadata(security=expired)
    with pytest.raises(FilestackHTTPError) as read:
        filelink.get_content(security=expired)
    with pytest.raises(FilestackHTTPError) as delete:
        filelink.delete(security=expired)
    for excinfo in (upload, stat, read, delete):
        assert refusal(excinfo) == (
            403,
            {"error": "policy_expired", "detail": "policy has expired"},
        )

    assert filelink.get_content() == data


def test_policy_app_refuses_a_policy_signed_with_another_apps_secret(sdk, create_app):
    app = create_app("locked", security_required=True)
    other = create_app("other", security_required=True)
    data = b"mine\n" * 50
    filelink = Client(app.apikey, security=policy(app)).upload(file_obj=io.BytesIO(data))
    forged = policy(other)  # a valid policy, but signed with the other app's secret

    with pytest.raises(FilestackHTTPError) as upload:
        Client(app.apikey, security=forged).upload(file_obj=io.BytesIO(b"forged"))
    with pytest.raises(FilestackHTTPError) as stat:
        filelink.metadata(security=forged)
    with pytest.raises(FilestackHTTPError) as read:
        filelink.get_content(security=forged)
    with pytest.raises(FilestackHTTPError) as delete:
        filelink.delete(security=forged)
    for excinfo in (upload, stat, read, delete):
        status, body = refusal(excinfo)
        assert (status, body["error"]) == (403, "invalid_signature")
        assert body["detail"] == "signature does not match the policy"

    assert filelink.get_content() == data
    assert filelink.metadata(["size"])["size"] == len(data)


# -- 3. upload_url: POST /cdn/process through the outbound guard -------------------------------


class _FileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(REMOTE_BYTES)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(REMOTE_BYTES)


class FileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _FileHandler)
        self.hits: list[str] = []
        self.connections = 0

    def verify_request(self, request, client_address):
        self.connections += 1
        return True

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def file_server():
    server = FileServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def allowing_api(file_server, django_db_setup, django_db_blocker):
    """A second server whose outbound guard allows the loopback file server."""
    with django_db_blocker.unblock():
        server = OpenPickerServer(
            server_env(OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{file_server.port}"), tls=True
        )
    yield server
    server.stop()


def test_upload_url_stores_the_fetched_bytes(allowing_api, file_server, create_app, monkeypatch):
    point_sdk(monkeypatch, allowing_api)
    app = create_app("fetcher")
    hits_before = len(file_server.hits)

    filelink = Client(app.apikey).upload_url(file_server.url("/exports/report.csv"))

    assert file_server.hits[hits_before:] == ["/exports/report.csv"]
    assert filelink.upload_response["size"] == len(REMOTE_BYTES)
    assert filelink.upload_response["filename"] == "report.csv"
    assert filelink.get_content() == REMOTE_BYTES
    meta = filelink.metadata(["size", "filename", "mimetype", "md5", "source_url"])
    assert meta["size"] == len(REMOTE_BYTES)
    assert meta["filename"] == "report.csv"
    assert meta["mimetype"] == "text/csv"
    assert meta["md5"] == hashlib.md5(REMOTE_BYTES, usedforsecurity=False).hexdigest()


def test_upload_url_of_loopback_is_refused_without_an_allow_entry(sdk, file_server, create_app):
    app = create_app("fetcher")
    connections, hits = file_server.connections, len(file_server.hits)

    with pytest.raises(FilestackHTTPError) as excinfo:
        Client(app.apikey).upload_url(file_server.url("/exports/report.csv"))

    status, body = refusal(excinfo)
    assert (status, body["error"]) == (400, "url_refused")
    assert body["detail"] == "the address 127.0.0.1 is not public (it is loopback)"
    assert (file_server.connections, len(file_server.hits)) == (connections, hits)


# -- 4. store params: filename and path ---------------------------------------------------------


def test_small_upload_with_filename_and_path(sdk, create_app):
    app = create_app("open")
    data = b"plain text in a folder\n"

    filelink = Client(app.apikey).upload(
        file_obj=io.BytesIO(data), store_params={"filename": "x.txt", "path": "folder/"}
    )

    meta = filelink.metadata()
    assert meta["path"].startswith(f"apps/{app.pk}/folder/")
    assert meta["path"].endswith("x.txt")
    assert meta["path"] in all_stored_keys()
    assert meta["filename"] == "x.txt"
    assert meta["size"] == len(data)
    assert meta["mimetype"] == "text/plain"
    assert filelink.get_content() == data


# -- 5. isolation between apps ------------------------------------------------------------------


def test_another_app_cannot_delete_the_file(sdk, create_app):
    owner = create_app("owner")
    intruder = create_app("intruder")
    data = b"owned by A\n" * 20
    filelink = Client(owner.apikey).upload(file_obj=io.BytesIO(data))
    intruder_policy = policy(intruder, calls=["remove"])

    with pytest.raises(FilestackHTTPError) as own_key:
        Filelink(filelink.handle, apikey=intruder.apikey).delete(security=intruder_policy)
    status, body = refusal(own_key)
    assert (status, body["error"]) == (403, "wrong_apikey")

    with pytest.raises(FilestackHTTPError) as owners_key:
        Filelink(filelink.handle, apikey=owner.apikey).delete(security=intruder_policy)
    status, body = refusal(owners_key)
    assert (status, body["error"]) == (403, "invalid_signature")

    assert filelink.get_content() == data
    assert filelink.metadata(["size"])["size"] == len(data)

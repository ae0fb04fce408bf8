"""Reading files: streaming, HEAD, Range, ETag, dl=true, metadata, overwrite, remove."""

import hashlib
import io
import os
import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest
from PIL import Image

from picker import policies
from picker.models import FileLink
from picker.objectcache import SMALL_FILE
from picker.streams import CHUNK
from tests.conftest import body
from tests.servers import Origin

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def blob(app, store):
    return store(app, DATA, filename="data.bin").json()


def exchange(server, method: str, path: str, **headers: str) -> tuple[int, dict, bytes]:
    """One request over a raw socket (Connection: close); status, headers, and every byte that
    followed the header block, exactly as the server sent them."""
    url = urlsplit(server.url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, rest = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), fields, rest


@pytest.fixture
def served_blob(live_api, transactional_db, app, store):
    """A file committed where the gunicorn process (another connection) reads it."""
    return store(app, DATA, filename="data.bin").json()


@pytest.mark.django_db(transaction=True)
def test_head_over_http_gives_the_get_headers_and_no_byte_of_body(live_api, served_blob):
    path = f"/api/file/{served_blob['handle']}"
    status, headers, rest = exchange(live_api, "GET", path)
    assert (status, rest) == (200, DATA)  # the reader sees a body when one is sent
    head_status, head_headers, head_rest = exchange(live_api, "HEAD", path)
    assert head_status == 200
    assert head_rest == b""
    assert head_headers["content-length"] == str(len(DATA)) == headers["content-length"]
    assert head_headers["accept-ranges"] == "bytes"
    assert head_headers["etag"] == headers["etag"]
    assert "transfer-encoding" not in head_headers


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [1, SMALL_FILE, SMALL_FILE + 1, 3 * CHUNK + 5])
def test_every_size_is_sent_whole_over_http(live_api, transactional_db, app, store, size):
    """Small files are answered from memory, larger ones by the server's file wrapper."""
    data = os.urandom(size)
    handle = store(app, data, filename="sized.bin").json()["handle"]
    status, headers, rest = exchange(live_api, "GET", f"/api/file/{handle}")
    assert (status, headers["content-length"], len(rest)) == (200, str(size), size)
    assert rest == data


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, len(DATA) - 1),
        ("bytes=-10", len(DATA) - 10, len(DATA) - 1),
        ("bytes=10000-999999", 10000, len(DATA) - 1),
    ],
)
def test_range(client, blob, header, start, end):
    response = client.get(f"/api/file/{blob['handle']}", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert body(response) == DATA[start : end + 1]


def test_unsatisfiable_range_is_416_json(client, blob):
    response = client.get(f"/api/file/{blob['handle']}", HTTP_RANGE="bytes=99999-")
    assert response.status_code == 416
    assert response.json()["error"] == "range_not_satisfiable"


@pytest.mark.django_db(transaction=True)
def test_etag_revalidation_over_http_is_an_empty_304(live_api, served_blob):
    path = f"/api/file/{served_blob['handle']}"
    _, headers, _ = exchange(live_api, "HEAD", path)
    etag = headers["etag"]
    status, not_modified, rest = exchange(live_api, "GET", path, If_None_Match=etag)
    assert status == 304
    assert rest == b""
    assert not_modified["etag"] == etag
    listed = exchange(live_api, "GET", path, If_None_Match=f'"other", {etag}')
    assert (listed[0], listed[2]) == (304, b"")


@pytest.mark.django_db(transaction=True)
def test_stale_or_foreign_etag_gets_the_whole_body(live_api, served_blob, app, client):
    path = f"/api/file/{served_blob['handle']}"
    _, headers, _ = exchange(live_api, "HEAD", path)
    old_etag = headers["etag"]
    for foreign in ('"0123456789abcdef0123456789abcdef-1"', old_etag[:-2] + '"', 'W/"x"'):
        status, _, rest = exchange(live_api, "GET", path, If_None_Match=foreign)
        assert (status, rest) == (200, DATA), foreign
    # After an overwrite, even with the same bytes, the old ETag is stale.
    overwritten = client.post(
        f"{path}?key={app.apikey}", data=DATA, content_type="application/octet-stream"
    )
    assert overwritten.status_code == 200, overwritten.content
    status, fresh, rest = exchange(live_api, "GET", path, If_None_Match=old_etag)
    assert (status, rest) == (200, DATA)
    assert fresh["etag"] != old_etag
    assert exchange(live_api, "GET", path, If_None_Match=fresh["etag"])[0] == 304


def test_dl_true_is_an_attachment(client, blob):
    response = client.get(f"/api/file/{blob['handle']}?dl=true")
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="data.bin"' in response["Content-Disposition"]
    inline = client.get(f"/api/file/{blob['handle']}")
    assert inline["Content-Disposition"].startswith("inline")


def test_cache_false(client, blob):
    assert client.get(f"/api/file/{blob['handle']}?cache=false")["Cache-Control"] == "no-store"
    assert client.get(f"/cdn/cache=false/{blob['handle']}")["Cache-Control"] == "no-store"


def test_malformed_and_unknown_handles(client):
    for handle in ("short", "x" * 21, "bad!chars_1234567890", "../../../etc/passwd12"):
        response = client.get(f"/api/file/{handle}")
        assert response.status_code == 404, handle
        assert response.json()["error"] in {"invalid_handle", "not_found"}
    response = client.get("/api/file/" + "A" * 20)
    assert response.status_code == 404
    assert response.json()["error"] == "file_not_found"


def test_metadata_default_set_and_flags(client, app, store):
    png = io.BytesIO()
    Image.new("RGB", (30, 20)).save(png, "PNG")
    blob = store(app, png.getvalue(), filename="p.png").json()
    default = client.get(f"/api/file/{blob['handle']}/metadata").json()
    assert set(default) == {
        "size",
        "mimetype",
        "filename",
        "uploaded",
        "writeable",
        "location",
        "path",
        "container",
        "handle",
    }
    assert default["size"] == len(png.getvalue())
    assert default["mimetype"] == "image/png"
    assert default["path"] == blob["key"]
    flagged = client.get(
        f"/cdn/{blob['handle']}/metadata?width=true&height=true&md5=true&sha512=true&size=false"
    ).json()
    assert flagged["width"] == 30 and flagged["height"] == 20
    assert flagged["md5"] == hashlib.md5(png.getvalue(), usedforsecurity=False).hexdigest()
    assert flagged["sha512"] == hashlib.sha512(png.getvalue()).hexdigest()
    assert "size" not in flagged


HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def digests(data: bytes) -> dict[str, str]:
    """Each hash of the bytes, computed here with hashlib (not read back from the server)."""
    return {name: hashlib.new(name, data, usedforsecurity=False).hexdigest() for name in HASHES}


def test_hashes_in_metadata_are_those_of_the_bytes_sent(client, app, store):
    data = os.urandom(CHUNK + 70_000) + b"tail"  # more than one read chunk
    blob = store(app, data, filename="r.bin").json()
    query = "&".join(f"{name}=true" for name in HASHES)
    for prefix in ("/api/file", "/cdn"):
        meta = client.get(f"{prefix}/{blob['handle']}/metadata?{query}").json()
        assert {name: meta[name] for name in HASHES} == digests(data), prefix
    # After an overwrite the hashes are those of the new bytes.
    new = os.urandom(5000)
    client.post(
        f"/api/file/{blob['handle']}?key={app.apikey}",
        data=new,
        content_type="application/octet-stream",
    )
    meta = client.get(f"/api/file/{blob['handle']}/metadata?{query}").json()
    assert {name: meta[name] for name in HASHES} == digests(new)


def test_exif_needs_a_policy(client, blob):
    response = client.get(f"/api/file/{blob['handle']}/metadata?exif=true")
    assert response.status_code == 403


def test_overwrite_keeps_the_handle_and_replaces_the_bytes(client, app, blob, stored_keys):
    old_key = blob["key"]
    response = client.post(
        f"/api/file/{blob['handle']}?key={app.apikey}",
        data=b"new bytes",
        content_type="application/octet-stream",
    )
    assert response.status_code == 200, response.content
    assert response.json()["handle"] == blob["handle"]
    assert response.json()["size"] == 9
    assert body(client.get(f"/api/file/{blob['handle']}")) == b"new bytes"
    assert old_key not in stored_keys()
    assert FileLink.objects.get(handle=blob["handle"]).version == 2


def test_overwrite_with_multipart(client, app, blob):
    upload = io.BytesIO(b"from a form")
    upload.name = "whatever.txt"
    response = client.post(f"/api/file/{blob['handle']}?key={app.apikey}", {"fileUpload": upload})
    assert response.status_code == 200
    assert body(client.get(f"/api/file/{blob['handle']}")) == b"from a form"


@pytest.fixture
def origin(settings):
    server = Origin(b"fetched for the overwrite\n" * 100, "text/plain")
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{server.port}"]
    yield server
    server.stop()


def test_overwrite_with_url(client, app, blob, origin, stored_keys):
    payload = b"fetched for the overwrite\n" * 100
    response = client.post(
        f"/api/file/{blob['handle']}?key={app.apikey}", {"url": origin.url(path="/new.txt")}
    )
    assert response.status_code == 200, response.content
    assert response.json()["handle"] == blob["handle"]
    assert response.json()["size"] == len(payload)
    assert origin.hits == ["/new.txt"]
    assert body(client.get(f"/api/file/{blob['handle']}")) == payload
    meta = client.get(f"/api/file/{blob['handle']}/metadata?md5=true&size=true").json()
    assert meta == {
        "md5": digests(payload)["md5"],
        "size": len(payload),
        "handle": blob["handle"],
    }
    assert blob["key"] not in stored_keys()
    link = FileLink.objects.get(handle=blob["handle"])
    assert (link.version, link.source_url) == (2, origin.url(path="/new.txt"))


def test_overwrite_with_url_needs_write_url_in_the_policy(client, make_app, store, origin):
    secure = make_app("secure", security_required=True)

    def creds(*calls):
        encoded = policies.encode({"expiry": int(time.time()) + 60, "call": list(calls)})
        return {"policy": encoded, "signature": policies.sign(encoded, secure.secret)}

    handle = store(secure, DATA, filename="d.bin", **creds("store")).json()["handle"]
    url = origin.url(path="/new.txt")
    refused = client.post(
        f"/api/file/{handle}?{urlencode({'key': secure.apikey, **creds('write')})}", {"url": url}
    )
    assert refused.status_code == 403 and refused.json()["error"] == "policy_call"
    assert "writeUrl" in refused.json()["detail"]
    assert origin.hits == []
    allowed = client.post(
        f"/api/file/{handle}?{urlencode({'key': secure.apikey, **creds('writeUrl')})}",
        {"url": url},
    )
    assert allowed.status_code == 200, allowed.content
    assert body(client.get(f"/api/file/{handle}?{urlencode(creds('read'))}")) == (
        b"fetched for the overwrite\n" * 100
    )


def test_failed_overwrite_leaves_the_old_file(client, app, blob, settings, stored_keys):
    settings.OPENPICKER_MAX_UPLOAD_BYTES = 100
    before = stored_keys()
    response = client.post(
        f"/api/file/{blob['handle']}?key={app.apikey}",
        data=b"x" * 101,
        content_type="application/octet-stream",
    )
    assert response.status_code == 413
    assert stored_keys() == before
    assert body(client.get(f"/api/file/{blob['handle']}")) == DATA


def test_delete_removes_object_and_kills_the_link(client, app, blob, stored_keys):
    response = client.delete(f"/api/file/{blob['handle']}?key={app.apikey}")
    assert response.status_code == 200
    assert blob["key"] not in stored_keys()
    assert client.get(f"/api/file/{blob['handle']}").status_code == 404
    assert client.get(f"/api/file/{blob['handle']}/metadata").status_code == 404
    again = client.delete(f"/api/file/{blob['handle']}?key={app.apikey}")
    assert again.status_code == 404


def test_legacy_remove(client, app, blob, stored_keys):
    response = client.post(f"/api/file/{blob['handle']}/remove", {"key": app.apikey})
    assert response.status_code == 200
    assert blob["key"] not in stored_keys()
    assert client.get(f"/api/file/{blob['handle']}").status_code == 404


def test_remove_needs_the_api_key(client, blob, stored_keys):
    response = client.delete(f"/api/file/{blob['handle']}")
    assert response.status_code == 401
    assert blob["key"] in stored_keys()


def test_unknown_route_is_json_404(client):
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "nothing here"}


def test_overwrite_needs_the_api_key(client, blob):
    response = client.post(
        f"/api/file/{blob['handle']}", data=b"anyone", content_type="application/octet-stream"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "apikey_required"
    assert body(client.get(f"/api/file/{blob['handle']}")) == DATA


@pytest.mark.parametrize(
    "path",
    [
        "/api/file/{handle}",
        "/cdn/{handle}",
        "/api/file/{handle}?dl=true",
        "/api/file/{handle}/metadata",
        "/cdn/{handle}/metadata",
        "/api/file/{handle}/metadata?md5=true&sha1=true&sha512=true&source_url=true&cloud=true",
    ],
)
def test_a_read_or_metadata_is_one_query(client, app, store, path):
    """The reads load only what they serve (access.SERVED_FIELDS): a field they would use and
    left out would cost a query more each; metadata asking for more loads the whole row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    blob = store(app, DATA, filename="data.bin").json()
    url = path.format(handle=blob["handle"])
    client.get(url)  # anything done once per process is done
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        body(response)
    assert response.status_code == 200
    assert len(queries) == 1, [query["sql"] for query in queries]
    if "metadata" in path:
        assert response.json()["handle"] == blob["handle"]
    else:
        assert body(response) == DATA

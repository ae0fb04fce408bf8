"""Reading files: streaming, HEAD, Range, ETag, dl=true, metadata, overwrite, remove."""

import io

import pytest
from PIL import Image

from picker.models import FileLink
from tests.conftest import body

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def blob(app, store):
    return store(app, DATA, filename="data.bin").json()


def test_head_gives_headers_without_body(client, blob):
    response = client.head(f"/api/file/{blob['handle']}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(DATA))
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"]
    assert body(response) == b""


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


def test_etag_revalidation(client, blob):
    etag = client.head(f"/api/file/{blob['handle']}")["ETag"]
    response = client.get(f"/api/file/{blob['handle']}", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert body(response) == b""


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
    assert len(flagged["md5"]) == 32 and len(flagged["sha512"]) == 128
    assert "size" not in flagged


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

"""Storing files: raw bodies, multipart fileUpload, base64, keys and paths, bad input."""

import base64
import hashlib
import io

import pytest
from PIL import Image

from picker.models import FileLink
from tests.conftest import body

pytestmark = pytest.mark.django_db


def jpeg_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, "JPEG")
    return out.getvalue()


def test_raw_body_is_stored_and_read_back_identically(client, app, store, stored_keys):
    data = jpeg_bytes()
    response = store(app, data, filename="photo.jpg")
    assert response.status_code == 200
    blob = response.json()
    assert blob["filename"] == "photo.jpg"
    assert blob["size"] == len(data)
    assert blob["type"] == "image/jpeg"
    assert blob["url"].endswith(f"/api/file/{blob['handle']}")
    assert blob["key"].endswith("_photo.jpg") and blob["key"] in stored_keys()
    read = client.get(f"/api/file/{blob['handle']}")
    assert read.status_code == 200
    assert body(read) == data
    assert read["Content-Type"] == "image/jpeg"
    link = FileLink.objects.get(handle=blob["handle"])
    assert link.md5 == hashlib.md5(data).hexdigest()
    assert link.sha256 == hashlib.sha256(data).hexdigest()


def test_curl_style_form_content_type_is_taken_as_bytes(client, app, store):
    data = jpeg_bytes()
    response = store(
        app, data, content_type="application/x-www-form-urlencoded", filename="photo.jpg"
    )
    assert response.status_code == 200
    assert body(client.get(f"/api/file/{response.json()['handle']}")) == data


def test_multipart_file_upload(client, app):
    upload = io.BytesIO(b"name,size\nx,1\n")
    upload.name = "table.csv"
    response = client.post(f"/api/store/S3?key={app.apikey}", {"fileUpload": upload})
    assert response.status_code == 200, response.content
    blob = response.json()
    assert blob["filename"] == "table.csv"
    assert blob["type"] == "text/csv"
    assert body(client.get(f"/api/file/{blob['handle']}")) == b"name,size\nx,1\n"


def test_base64decode(client, app, store):
    data = bytes(range(256)) * 50
    encoded = base64.b64encode(data)
    chunked = b"\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    response = store(app, chunked, filename="bin.dat", base64decode="true")
    assert response.status_code == 200, response.content
    assert response.json()["size"] == len(data)
    assert body(client.get(f"/api/file/{response.json()['handle']}")) == data


def test_invalid_base64_leaves_nothing(app, store, stored_keys):
    before = stored_keys()
    response = store(app, b"!!!not base64!!!", filename="x.bin", base64decode="true")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_base64"
    assert stored_keys() == before
    assert not FileLink.objects.exists()


def test_path_folder_and_full_key(app, store):
    folder = store(app, b"a", filename="a.txt", path="uploads/2026/").json()
    # The path is relative to the app's root in the instance storage.
    assert folder["key"].startswith(f"apps/{app.pk}/uploads/2026/")
    assert folder["key"].endswith("_a.txt")
    exact = store(app, b"b", filename="b.txt", path="/exact/name.txt").json()
    assert exact["key"] == f"apps/{app.pk}/exact/name.txt"


def test_mimetype_comes_from_the_bytes_not_the_client(app, store):
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    blob = store(app, png.getvalue(), filename="lies.jpg", mimetype="image/gif").json()
    assert blob["type"] == "image/png"
    fake = store(
        app, b"<html><script>alert(1)</script>", filename="x.png", mimetype="image/png"
    ).json()
    assert fake["type"] != "image/png"


def test_html_is_served_sandboxed(client, app, store):
    blob = store(app, b"<html><script>alert(1)</script></html>", filename="x.html").json()
    response = client.get(f"/api/file/{blob['handle']}")
    assert response["Content-Type"] == "text/html"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ({"key": None}, 401, "apikey_required"),
        ({"key": "x" * 20}, 401, "invalid_apikey"),
        ({"filename": "../etc/passwd"}, 400, "invalid_filename"),
        ({"filename": "a/b.txt"}, 400, "invalid_filename"),
        ({"filename": "..\\b.txt"}, 400, "invalid_filename"),
        ({"filename": "a\x00b"}, 400, "invalid_parameter"),
        ({"path": "../../etc/"}, 400, "invalid_path"),
        ({"path": "a/../../b"}, 400, "invalid_path"),
        ({"path": "a/./b"}, 400, "invalid_path"),
        ({"path": "a\\b"}, 400, "invalid_path"),
        ({"access": "world"}, 400, "invalid_access"),
        ({"container": "someone-elses-bucket"}, 403, "container_not_allowed"),
    ],
)
def test_bad_input_is_a_json_4xx_and_leaves_nothing(app, store, stored_keys, query, status, error):
    before = stored_keys()
    query = {"filename": "ok.txt", **query}
    if query.get("key", "") is None:
        del query["key"]
        query["key"] = ""
    response = store(app, b"data", **query)
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert response.json()["detail"]
    assert stored_keys() == before
    assert not FileLink.objects.exists()


def test_empty_body_is_refused(app, store, stored_keys):
    before = stored_keys()
    response = store(app, b"", filename="empty.txt")
    assert response.status_code == 400
    assert response.json()["error"] == "empty_file"
    assert stored_keys() == before and not FileLink.objects.exists()


def test_unsupported_location(client, app):
    response = client.post(
        f"/api/store/azure?key={app.apikey}", data=b"x", content_type="application/octet-stream"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_location"


def test_instance_size_cap_stops_the_stream_and_cleans_up(app, store, stored_keys, settings):
    settings.OPENPICKER_MAX_UPLOAD_BYTES = 10_000
    before = stored_keys()
    response = store(app, b"x" * 10_001, filename="big.bin")
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert stored_keys() == before and not FileLink.objects.exists()


def test_handles_are_20_url_safe_characters_and_distinct(app, store):
    handles = {store(app, b"x", filename="x.txt").json()["handle"] for _ in range(20)}
    assert len(handles) == 20
    assert all(len(h) == 20 and h.replace("-", "a").replace("_", "a").isalnum() for h in handles)

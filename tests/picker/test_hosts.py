"""Host aliases: cdn./upload./process./www. route like the path prefixes (the SDKs' cname)."""

import json

import pytest

from openpicker.environment import allowed_hosts
from tests.conftest import body

pytestmark = pytest.mark.django_db


@pytest.fixture
def blob(app, store):
    return store(app, b"aliased", filename="a.txt").json()


def test_cdn_host(client, blob, settings):
    settings.ALLOWED_HOSTS = [".openpicker.test"]
    response = client.get(f"/{blob['handle']}", HTTP_HOST="cdn.openpicker.test")
    assert body(response) == b"aliased"
    meta = client.get(f"/{blob['handle']}/metadata", HTTP_HOST="cdn.openpicker.test")
    assert meta.json()["filename"] == "a.txt"


def test_upload_host(client, app, settings):
    settings.ALLOWED_HOSTS = [".openpicker.test"]
    start = client.post(
        "/multipart/start",  # only /upload/multipart/start is routed
        json.dumps(
            {"apikey": app.apikey, "filename": "x.bin", "size": 3, "store": {"location": "s3"}}
        ),
        content_type="application/json",
        HTTP_HOST="upload.openpicker.test",
    )
    assert start.status_code == 200 and start.json()["upload_id"]


@pytest.mark.parametrize("alias", ["process", "cloud"])
def test_process_and_cloud_hosts_serve_only_their_prefix(client, app, blob, settings, alias):
    """Every path on process./cloud. is under /process or /cloud: the file API is not there."""
    settings.ALLOWED_HOSTS = [".openpicker.test"]
    host = f"{alias}.openpicker.test"
    read = client.get(f"/api/file/{blob['handle']}", HTTP_HOST=host)
    assert read.status_code == 404
    assert read.json() == {"error": "not_found", "detail": "nothing here"}
    # The same request on the bare host reads the file: the host alone made the difference.
    assert body(client.get(f"/api/file/{blob['handle']}", HTTP_HOST="openpicker.test")) == (
        b"aliased"
    )


def test_process_host_takes_the_sdks_process_call(client, app, settings):
    settings.ALLOWED_HOSTS = [".openpicker.test"]
    for path in ("/process", "/process/process"):
        process = client.post(
            path,
            json.dumps({"apikey": app.apikey, "sources": []}),
            content_type="application/json",
            HTTP_HOST="process.openpicker.test",
        )
        assert process.status_code == 400, path
        assert process.json()["error"] == "invalid_sources", path


def test_www_host_is_the_root_and_allowed_by_the_base_url(client, blob, settings):
    """www.<base host> is let in by the base URL's host list and serves the root routes."""
    settings.ALLOWED_HOSTS = allowed_hosts("https://openpicker.test")
    www = client.get(f"/api/file/{blob['handle']}", HTTP_HOST="www.openpicker.test")
    assert www.status_code == 200 and body(www) == b"aliased"
    # A bare handle is the CDN only on cdn.: www. is not an alias of anything.
    assert client.get(f"/{blob['handle']}", HTTP_HOST="www.openpicker.test").status_code == 404
    cdn = client.get(f"/{blob['handle']}", HTTP_HOST="cdn.openpicker.test")
    assert body(cdn) == b"aliased"
    other = client.get(f"/api/file/{blob['handle']}", HTTP_HOST="www.openpicker.test.evil")
    assert other.status_code == 400 and other.json()["error"] == "bad_host"


def test_unknown_host_is_a_json_400(client):
    response = client.get("/api/schema/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_host"


def test_cdn_unknown_task_is_named(client, blob):
    response = client.get(f"/cdn/explode=size:9/{blob['handle']}")
    assert response.status_code == 400
    assert "explode" in response.json()["detail"]

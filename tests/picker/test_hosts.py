"""Host aliases: cdn./upload./process./www. route like the path prefixes (the SDKs' cname)."""

import json

import pytest

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


def test_upload_and_process_and_www_hosts(client, app, blob, settings):
    settings.ALLOWED_HOSTS = [".openpicker.test"]
    start = client.post(
        "/multipart/start",
        json.dumps(
            {"apikey": app.apikey, "filename": "x.bin", "size": 3, "store": {"location": "s3"}}
        ),
        content_type="application/json",
        HTTP_HOST="upload.openpicker.test",
    )
    assert start.status_code == 200 and start.json()["upload_id"]
    process = client.post(
        "/process",
        json.dumps({"apikey": app.apikey, "sources": []}),
        content_type="application/json",
        HTTP_HOST="process.openpicker.test",
    )
    assert process.status_code == 400 and process.json()["error"] == "invalid_sources"
    www = client.get(f"/api/file/{blob['handle']}", HTTP_HOST="www.openpicker.test")
    assert body(www) == b"aliased"


def test_unknown_host_is_a_json_400(client):
    response = client.get("/api/schema/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_host"


def test_cdn_unknown_task_is_named(client, blob):
    response = client.get(f"/cdn/explode=size:9/{blob['handle']}")
    assert response.status_code == 400
    assert "explode" in response.json()["detail"]

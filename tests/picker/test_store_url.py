"""Store from URL (form url=, /process) through the outbound guard, against real servers."""

import json

import pytest

from picker.models import FileLink
from tests.conftest import body
from tests.servers import Origin

pytestmark = pytest.mark.django_db
PAYLOAD = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def origin():
    server = Origin(PAYLOAD, "image/png")
    yield server
    server.stop()


def store_url(client, app, url):
    return client.post(f"/api/store/S3?key={app.apikey}", {"url": url})


def test_loopback_is_refused_without_the_allow_list(client, app, origin, stored_keys):
    before = stored_keys()
    response = store_url(client, app, origin.url())
    assert response.status_code == 400
    assert response.json()["error"] == "url_refused"
    assert "127.0.0.1" in response.json()["detail"]
    assert origin.hits == []
    assert stored_keys() == before and not FileLink.objects.exists()


def test_allow_list_opens_exactly_that_host_and_port(client, app, origin, settings):
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{origin.port}"]
    response = store_url(client, app, origin.url())
    assert response.status_code == 200, response.content
    blob = response.json()
    assert blob["filename"] == "photo.png" and blob["type"] == "image/png"
    assert blob["client"] == "URL"
    assert body(client.get(f"/api/file/{blob['handle']}")) == PAYLOAD
    assert FileLink.objects.get(handle=blob["handle"]).source_url == origin.url()
    hits = list(origin.hits)
    for spelling in (
        "localhost",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "127.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
    ):
        refused = store_url(client, app, origin.url(host=spelling))
        assert refused.status_code == 400, spelling
        assert refused.json()["error"] == "url_refused", spelling
    assert origin.hits == hits


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/x",
        "http://[fd00::1]/x",
        "http://192.168.0.1/x",
    ],
)
def test_redirects_to_private_addresses_are_refused(client, app, settings, target):
    redirector = Origin(redirect_to=target)
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{redirector.port}"]
    response = store_url(client, app, redirector.url())
    redirector.stop()
    assert response.status_code == 400
    assert response.json()["error"] == "url_refused"
    assert "redirect" in response.json()["detail"]
    assert not FileLink.objects.exists()


def test_redirect_to_an_unlisted_loopback_server_never_reaches_it(client, app, origin, settings):
    redirector = Origin(redirect_to=origin.url(host="2130706433"))
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{redirector.port}"]
    response = store_url(client, app, redirector.url())
    redirector.stop()
    assert response.status_code == 400 and response.json()["error"] == "url_refused"
    assert origin.hits == []


def test_non_http_schemes_are_refused(client, app):
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1/"):
        response = store_url(client, app, url)
        assert response.status_code == 400 and response.json()["error"] == "url_refused", url


def test_process_endpoint_stores_from_url(client, app, origin, settings):
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{origin.port}"]
    payload = {
        "apikey": app.apikey,
        "sources": [origin.url()],
        "tasks": [{"name": "store", "params": {"location": "s3", "path": "from-url/"}}],
    }
    for path in ("/process", "/cdn/process"):
        response = client.post(path, json.dumps(payload), content_type="application/json")
        assert response.status_code == 200, response.content
        assert response.json()["key"].startswith(f"apps/{app.pk}/from-url/")
    refused = client.post(
        "/process",
        json.dumps({**payload, "sources": ["http://127.0.0.1:1/"]}),
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["error"] == "url_refused"
    unknown = client.post(
        "/process",
        json.dumps({**payload, "tasks": [{"name": "explode"}]}),
        content_type="application/json",
    )
    assert unknown.status_code == 400 and "explode" in unknown.json()["detail"]


def test_policy_url_regex(client, make_app, origin, settings):
    import time

    from picker import policies

    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{origin.port}"]
    secure = make_app("secure", security_required=True)
    encoded = policies.encode(
        {
            "expiry": int(time.time()) + 60,
            "call": ["store"],
            "url": "https://images\\.example\\.com/.*",
        }
    )
    query = (
        f"key={secure.apikey}&policy={encoded}&signature={policies.sign(encoded, secure.secret)}"
    )
    response = client.post(f"/api/store/S3?{query}", {"url": origin.url()})
    assert response.status_code == 403 and response.json()["error"] == "policy_url"
    assert origin.hits == []


def test_a_symlink_is_fetched_through_the_guard_on_read(client, app, origin, settings):
    link = FileLink.objects.create(
        app=app,
        kind=FileLink.Kind.SYMLINK,
        filename="photo.png",
        mimetype="image/png",
        client="Flickr",
        provider="Flickr",
        source_url=origin.url(),
    )
    refused = client.get(f"/api/file/{link.handle}")
    assert refused.status_code == 400 and refused.json()["error"] == "url_refused"
    assert origin.hits == []
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{origin.port}"]
    response = client.get(f"/api/file/{link.handle}")
    assert response.status_code == 200
    assert body(response) == PAYLOAD
    assert response["Content-Type"] == "image/png"
    meta = client.get(f"/api/file/{link.handle}/metadata?cloud=true&location=true").json()
    assert meta == {"cloud": True, "location": "Flickr", "handle": link.handle}

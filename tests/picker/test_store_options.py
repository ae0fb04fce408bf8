"""StoreOptions: immutable, built in one place that owns the "location must be S3" rule; and
store/overwrite from a URL as domain functions."""

import dataclasses
import io

import pytest

from picker import files
from picker.errors import BadRequest, PickerError
from picker.files import StoreOptions
from picker.models import FileLink
from tests.conftest import body
from tests.servers import Origin

pytestmark = pytest.mark.django_db
PAYLOAD = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2


@pytest.fixture
def origin(settings):
    server = Origin(PAYLOAD, "image/png")
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{server.port}"]
    yield server
    server.stop()


def test_store_options_are_immutable():
    options = StoreOptions.build(path="a/", access="public")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.path = "b/"
    derived = dataclasses.replace(options, path="b/")
    assert (options.path, derived.path, derived.access) == ("a/", "b/", "public")


@pytest.mark.parametrize("location", [None, "", "s3", "S3"])
def test_build_stores_to_s3_by_default(location):
    options = StoreOptions.build(
        location=location,
        filename="a.txt",
        mimetype="text/plain",
        path="docs/",
        container="bucket",
        access="PUBLIC",
    )
    assert options == StoreOptions(
        filename="a.txt",
        mimetype="text/plain",
        path="docs/",
        container="bucket",
        access="public",
    )


@pytest.mark.parametrize("location", ["azure", "gcs", "dropbox", "rackspace", "s3 "])
def test_build_refuses_every_other_location(location):
    with pytest.raises(BadRequest) as refused:
        StoreOptions.build(location=location)
    assert refused.value.code == "unsupported_location"
    assert repr(location) in refused.value.detail


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("access", "world", "invalid_access"),
        ("filename", "a\x00b", "invalid_parameter"),
        ("path", ["a/", "b/"], "invalid_parameter"),
        ("container", 42, "invalid_parameter"),
        ("mimetype", "x" * 256, "invalid_parameter"),
    ],
)
def test_build_checks_each_value(field, value, code):
    with pytest.raises(BadRequest) as refused:
        StoreOptions.build(**{field: value})
    assert refused.value.code == code


def test_no_instance_has_an_invalid_access():
    with pytest.raises(BadRequest):
        StoreOptions(access="world")
    with pytest.raises(BadRequest):
        dataclasses.replace(StoreOptions(), access="PUBLIC")


def test_empty_values_mean_unset_and_fill_only_fills_blanks():
    options = StoreOptions.build(filename="", path="", container="", mimetype="")
    assert options == StoreOptions()
    filled = options.fill(filename="from-body.jpg", mimetype="image/jpeg")
    assert (filled.filename, filled.mimetype) == ("from-body.jpg", "image/jpeg")
    named = StoreOptions.build(filename="mine.jpg").fill(filename="theirs.jpg")
    assert named.filename == "mine.jpg"


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("post", "/api/store/azure?key={key}", None),
        (
            "json",
            "/upload/multipart/start",
            {
                "apikey": "{key}",
                "filename": "a.bin",
                "size": 10,
                "store": {"location": "gcs"},
            },
        ),
        (
            "json",
            "/process",
            {
                "apikey": "{key}",
                "sources": ["https://example.com/a.png"],
                "tasks": [{"name": "store", "params": {"location": "dropbox"}}],
            },
        ),
        ("post", "/cdn/store=location:azure/{handle}?key={key}", None),
        ("post", "/api/file/{handle}/convert?w=10&storeLocation=dropbox&key={key}", None),
    ],
)
def test_every_store_entry_point_refuses_a_location_other_than_s3(
    client, app, store, stored_keys, method, path, payload
):
    handle = store(app, PAYLOAD, filename="photo.png").json()["handle"]
    before = stored_keys()
    url = path.format(key=app.apikey, handle=handle)
    if method == "json":
        data = {k: (app.apikey if v == "{key}" else v) for k, v in payload.items()}
        response = client.post(url, data, content_type="application/json")
    else:
        response = client.post(url)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "unsupported_location"
    assert stored_keys() == before
    assert FileLink.objects.count() == 1


def test_store_url_is_a_domain_function(app, origin):
    link = files.store_url(app, origin.url(), StoreOptions.build(path="fetched/"))
    assert (link.client, link.source_url, link.filename) == ("URL", origin.url(), "photo.png")
    assert link.mimetype == "image/png" and link.size == len(PAYLOAD)
    assert link.key.startswith("fetched/") or "/fetched/" in link.key
    with files.open_bytes(link) as reader:
        assert reader.read(10_000) == PAYLOAD


def test_store_url_refuses_a_bad_target_before_fetching(app, origin):
    with pytest.raises(PickerError) as refused:
        files.store_url(app, origin.url(), StoreOptions.build(path="../escape/"))
    assert refused.value.code == "invalid_path"
    assert origin.hits == []
    with pytest.raises(BadRequest) as empty:
        files.store_url(app, "", StoreOptions())
    assert empty.value.code == "invalid_parameter"


def test_overwrite_url_replaces_the_bytes_and_refuses_a_symlink_before_fetching(app, origin):
    link = files.store(app, io.BytesIO(b"old bytes").read, StoreOptions.build(filename="a.png"))
    replaced = files.overwrite_url(link, origin.url())
    assert (replaced.handle, replaced.version, replaced.size) == (link.handle, 2, len(PAYLOAD))
    assert replaced.source_url == origin.url()
    symlink = files.create_symlink(
        app,
        client="Flickr",
        provider="Flickr",
        provider_item_id="1",
        source_url=origin.url(),
        size=None,
        mimetype="image/png",
        filename="p.png",
    )
    with pytest.raises(BadRequest) as refused:
        files.overwrite_url(symlink, origin.url())
    assert refused.value.code == "not_writeable"
    assert origin.hits == ["/pics/photo.png"]


def test_overwrite_with_url_over_http(client, app, store, origin):
    handle = store(app, b"old bytes", filename="a.png").json()["handle"]
    response = client.post(f"/api/file/{handle}?key={app.apikey}", {"url": origin.url()})
    assert response.status_code == 200, response.content
    assert response.json()["handle"] == handle and response.json()["size"] == len(PAYLOAD)
    assert body(client.get(f"/api/file/{handle}")) == PAYLOAD
    assert FileLink.objects.get(handle=handle).source_url == origin.url()

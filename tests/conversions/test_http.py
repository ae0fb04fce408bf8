"""Conversions over HTTP with a real worker: the seeds' calls, CDN chains, renditions, errors."""

import json
import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from conversions import jobs
from conversions.models import Rendition
from picker import events
from picker.models import FileLink
from tests.conftest import body
from tests.conversions.conftest import image_bytes, open_image

pytestmark = pytest.mark.usefixtures("converting")


@pytest.fixture
def photo(app, store):
    return store(app, image_bytes((1200, 900)), filename="cat.jpg").json()


@pytest.fixture
def announced():
    seen = []

    def receiver(sender, event, **kwargs):
        seen.append(event)

    events.file_event.connect(receiver, dispatch_uid="test-announced")
    yield seen
    events.file_event.disconnect(dispatch_uid="test-announced")


def test_seed_convert_400_stored_in_s3(client, app, photo, stored_keys, announced):
    # filepicker.convert(blob, {width: 400, height: 400}, {location: 'S3'})
    response = client.post(
        f"/api/file/{photo['handle']}/convert?key={app.apikey}",
        {"width": 400, "height": 400, "storeLocation": "S3"},
    )
    assert response.status_code == 200, response.content
    blob = response.json()
    assert blob["key"] and blob["key"] in stored_keys()
    assert blob["handle"] != photo["handle"]
    image = open_image(body(client.get(f"/api/file/{blob['handle']}")))
    assert image.size == (400, 300) and image.format == "JPEG"
    assert blob["type"] == "image/jpeg" and blob["filename"] == "cat.jpg"
    assert [event.action for event in announced] == ["fp.converse"]
    converse = announced[0]
    assert converse.link.handle == photo["handle"] and converse.stored.handle == blob["handle"]
    assert "/convert?" in converse.url and app.apikey not in converse.url


def test_seed_crop_first_300(client, app, photo):
    # filepicker.convert(Blob, {width: 300, height: 300, crop_first: true}, ...)
    response = client.post(
        f"/api/file/{photo['handle']}/convert?key={app.apikey}",
        {"width": 300, "height": 300, "crop_first": "true"},
    )
    assert response.status_code == 200, response.content
    image = open_image(body(client.get(f"/api/file/{response.json()['handle']}")))
    assert image.size == (300, 300)


def test_legacy_get_returns_bytes_with_crop_first_and_crop(client, photo):
    response = client.get(
        f"/api/file/{photo['handle']}/convert?w=100&h=100&fit=crop"
        "&crop=0,0,600,900&crop_first=true&format=png"
    )
    assert response.status_code == 200, response.content
    image = open_image(body(response))
    assert image.format == "PNG" and image.size == (100, 100)
    assert response["Content-Type"] == "image/png"


def test_cdn_chain_is_cached_and_served_without_the_source(client, photo):
    url = f"/cdn/resize=width:200,fit:max/rotate=deg:90/{photo['handle']}"
    first = client.get(url)
    assert first.status_code == 200, first.content
    image = open_image(body(first))
    assert image.size == (150, 200)
    assert "max-age=86400" in first["Cache-Control"] and first["ETag"]
    # Break the source's bytes behind the API's back: a cached rendition never decodes it.
    link = FileLink.objects.get(handle=photo["handle"])
    from picker import storage

    location = storage.location_of(link)
    location.storage.delete(link.key)
    second = client.get(url)
    assert second.status_code == 200 and body(second) == body(client.get(url))
    assert second["ETag"] == first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    equivalent = client.get(f"/cdn/resize=fit:max,width:200/rotate=deg:90/{photo['handle']}")
    assert equivalent["ETag"] == first["ETag"]
    assert Rendition.objects.filter(source=link).count() == 1


@pytest.mark.parametrize("inline", [2, 0], ids=["in-the-web-process", "on-the-queue"])
def test_racing_identical_requests_compute_once(
    app, photo, stored_keys, announced, published, settings, inline
):
    # With free slots the request that claims the row computes it; with none (0) the worker does.
    settings.OPENPICKER_CONVERT_INLINE = inline
    url = f"/cdn/resize=width:123/{photo['handle']}"
    threads_count = 6
    start = threading.Barrier(threads_count)
    results, errors = [], []

    def fetch():
        try:
            start.wait(timeout=30)
            response = Client().get(url)
            results.append((response.status_code, response["ETag"], body(response)))
        except BaseException as error:  # noqa: BLE001 - reported below, with the others
            errors.append(repr(error))
        finally:
            connection.close()  # this thread's own connection, or the test DB cannot be dropped

    threads = [threading.Thread(target=fetch) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == threads_count  # every thread got an answer ...
    assert [status for status, _, _ in results] == [200] * threads_count  # ... and a 200
    assert len({etag for _, etag, _ in results}) == 1
    assert len({data for _, _, data in results}) == 1
    assert open_image(results[0][2]).width == 123
    # One computation: one row started once, one object, one fp.converse; one job sent to the
    # queue's workers only when there was no free slot, computed here otherwise.
    assert [row.attempts for row in Rendition.objects.all()] == [1]
    computed_here = Rendition.objects.get().started_by == jobs.starter()
    assert computed_here == bool(inline)
    prefix = f"_openpicker/renditions/{photo['handle']}/"
    assert len([key for key in stored_keys() if key.startswith(prefix)]) == 1
    assert published == ([] if inline else ["conversions.render"])
    assert [event.action for event in announced] == ["fp.converse"]


def test_overwrite_and_remove_drop_renditions(client, app, photo, stored_keys):
    url = f"/cdn/resize=width:100/{photo['handle']}"
    first = client.get(url)
    old_keys = {
        key for key in stored_keys() if key.startswith(f"_openpicker/renditions/{photo['handle']}/")
    }
    assert old_keys
    client.post(
        f"/api/file/{photo['handle']}?key={app.apikey}",
        data=image_bytes((400, 400), color=(0, 0, 255)),
        content_type="application/octet-stream",
    )
    assert not (old_keys & stored_keys())
    second = client.get(url)
    assert second["ETag"] != first["ETag"]
    assert open_image(body(second)).size == (100, 100)
    client.delete(f"/api/file/{photo['handle']}?key={app.apikey}")
    assert not Rendition.objects.exists()
    assert not any(
        key.startswith(f"_openpicker/renditions/{photo['handle']}") for key in stored_keys()
    )


def test_cdn_store_task(client, app, photo, stored_keys):
    response = client.post(
        f'/cdn/resize=width:50/output=format:webp/store=path:"thumbs/"/'
        f"{photo['handle']}?key={app.apikey}"
    )
    assert response.status_code == 200, response.content
    blob = response.json()
    assert blob["key"].startswith(f"apps/{app.pk}/thumbs/") and blob["key"].endswith(".webp")
    assert blob["key"] in stored_keys()
    assert open_image(body(client.get(f"/api/file/{blob['handle']}"))).size == (50, 38)


def test_slow_conversion_answers_202_then_the_result(client, photo, settings):
    settings.OPENPICKER_CONVERT_INLINE = 0  # on the queue: the request does not wait for it
    settings.OPENPICKER_CONVERT_WAIT = 0
    url = f"/cdn/resize=width:321/{photo['handle']}"
    first = client.get(url)
    assert first.status_code == 202
    assert first["Location"].endswith(url) and first.json()["status"] == "pending"
    deadline = time.monotonic() + 30
    while (response := client.get(url)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert response.status_code == 200 and open_image(body(response)).width == 321


@pytest.mark.parametrize(
    ("chain", "needle"),
    [
        ("explode=x:1", "explode"),
        ("resize=width:0", "width"),
        ("resize=width:abc", "width"),
        ("resize=fit:crop", "width or height"),
        ("resize=width:10,fit:squash", "fit"),
        ("rotate=deg:400", "deg"),
        ("output=format:bmp", "format"),
        ("crop=dim:[1,2]", "dim"),
        ("quality=value:101", "value"),
        ("resize=width:10,color:red", "color"),
    ],
)
def test_bad_chains_are_400_naming_the_problem(client, photo, chain, needle):
    response = client.get(f"/cdn/{chain}/{photo['handle']}")
    assert response.status_code == 400
    assert needle in response.json()["detail"]
    assert not Rendition.objects.exists()


def test_non_image_is_refused(client, app, store):
    text = store(app, b"just some text, not an image", filename="a.txt").json()
    response = client.get(f"/cdn/resize=width:10/{text['handle']}")
    assert response.status_code == 400
    assert response.json()["error"] == "image_refused"
    stored = client.post(f"/api/file/{text['handle']}/convert?key={app.apikey}", {"w": 10})
    assert stored.status_code == 400
    assert FileLink.objects.count() == 1


def secure_photo(make_app, store, name: str):
    """A 40x30 JPEG of a new app that requires security: (handle, creds(*calls) -> query)."""
    from picker import policies

    secure = make_app(name, security_required=True)

    def creds(*calls):
        encoded = policies.encode({"expiry": int(time.time()) + 60, "call": list(calls)})
        return f"policy={encoded}&signature={policies.sign(encoded, secure.secret)}"

    handle = store(
        secure,
        image_bytes((40, 30)),
        filename="s.jpg",
        **dict(pair.split("=", 1) for pair in creds("store").split("&")),
    ).json()["handle"]
    return handle, creds


def test_secure_app_needs_a_convert_policy(client, make_app, store):
    handle, creds = secure_photo(make_app, store, "secure")
    refused = client.get(f"/api/file/{handle}/convert?w=10&{creds('read')}")
    assert refused.status_code == 403 and "convert" in refused.json()["detail"]
    allowed = client.get(f"/api/file/{handle}/convert?w=10&{creds('convert')}")
    assert allowed.status_code == 200 and open_image(body(allowed)).width == 10


def test_spec_round_trip_of_the_canonical_form():
    from conversions.grammar import from_tasks
    from picker.cdn import parse

    chain = parse(
        "resize=width:40,align:[top,left],fit:crop/crop=dim:[1,2,3,4]/rotate=deg:exif/"
        "flip/flop/output=format:pjpg,quality:70,strip:true/no_metadata/"
        'store=path:"a/b/"/HANDLEHANDLEHANDLE00'
    )
    spec = from_tasks(chain.tasks).spec
    again = from_tasks(parse(spec + "/HANDLEHANDLEHANDLE00").tasks).spec
    assert again == spec
    assert "store" not in spec and json.dumps(spec)


def test_a_chain_seen_before_is_read_once_and_a_bad_one_raises_every_time():
    from conversions.grammar import ConversionError, from_tasks
    from picker.cdn import parse

    first = from_tasks(parse("resize=width:77/flip/HANDLEHANDLEHANDLE00").tasks)
    again = from_tasks(parse("resize=width:77/flip/OTHERHANDLEOTHERHAND").tasks)
    assert again is first  # the handle is not part of it
    assert from_tasks(parse("resize=width:78/flip/HANDLEHANDLEHANDLE00").tasks) is not first
    for _ in range(2):
        with pytest.raises(ConversionError):
            from_tasks(parse("resize=width:77/twirl/HANDLEHANDLEHANDLE00").tasks)


def test_store_only_chain_copies_the_file(client, app, photo, stored_keys):
    response = client.post(f'/cdn/store=path:"copies/"/{photo["handle"]}?key={app.apikey}')
    assert response.status_code == 200, response.content
    blob = response.json()
    assert blob["filename"] == "cat.jpg" and blob["key"].startswith(f"apps/{app.pk}/copies/")
    assert blob["size"] == photo["size"] and blob["key"] in stored_keys()
    assert body(client.get(f"/api/file/{blob['handle']}")) == body(
        client.get(f"/api/file/{photo['handle']}")
    )
    assert not Rendition.objects.exists()


def test_a_cached_rendition_is_found_with_its_file_in_one_query(client, photo):
    from django.test.utils import CaptureQueriesContext

    url = f"/cdn/resize=width:120/{photo['handle']}"
    first = client.get(url)
    assert first.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert again.status_code == 200 and body(again) == body(first)
    assert again["ETag"] == first["ETag"]
    assert len(queries) == 1, [query["sql"] for query in queries]


def test_a_cached_rendition_of_a_removed_or_overwritten_file_is_not_served(client, app, photo):
    url = f"/cdn/resize=width:90/{photo['handle']}"
    assert client.get(url).status_code == 200
    link = FileLink.objects.get(handle=photo["handle"])
    # The rows stay behind (no event dropped them): the file's state alone decides.
    FileLink.objects.filter(pk=link.pk).update(version=link.version + 1)
    again = client.get(url)
    assert again.status_code == 200 and open_image(body(again)).width == 90
    assert Rendition.objects.filter(source=link).count() == 2  # computed again, new version
    FileLink.objects.filter(pk=link.pk).update(deleted_at=timezone.now())
    gone = client.get(url)
    assert gone.status_code == 404 and gone.json()["error"] == "file_not_found"


def test_a_cached_rendition_of_a_secure_app_still_needs_its_policy(client, make_app, store):
    handle, creds = secure_photo(make_app, store, "secure-cdn")
    url = f"/cdn/resize=width:20/{handle}"
    assert client.get(f"{url}?{creds('convert')}").status_code == 200  # now cached
    assert client.get(url).status_code in (401, 403)
    assert client.get(f"{url}?{creds('read')}").status_code == 403
    other = make_app("other-cdn")
    assert client.get(f"/cdn/{other.apikey}/resize=width:20/{handle}").status_code in (401, 403)
    cached = client.get(f"{url}?{creds('convert')}")
    assert cached.status_code == 200 and open_image(body(cached)).width == 20

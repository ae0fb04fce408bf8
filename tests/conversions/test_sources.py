"""Where conversions get their bytes and what they refuse: symlinks, bombs, grammar equivalence."""

import pytest

from conversions import renditions
from conversions.grammar import from_legacy, from_tasks
from conversions.models import Rendition
from picker.cdn import parse
from picker.models import FileLink
from tests.conftest import body
from tests.conversions.conftest import image_bytes, open_image
from tests.conversions.images import bomb_png
from tests.servers import Origin

JPEG = image_bytes((640, 480))


@pytest.fixture
def origin():
    server = Origin(JPEG, "image/jpeg")
    yield server
    server.stop()


@pytest.mark.django_db
def test_a_symlink_is_converted_through_the_outbound_guard(app, origin, settings):
    port, hits = origin.port, origin.hits
    # A provider without an opener of its own (Flickr has one since the providers app).
    link = FileLink.objects.create(
        app=app,
        kind=FileLink.Kind.SYMLINK,
        filename="photo.jpg",
        mimetype="image/jpeg",
        client="Example",
        provider="Example",
        source_url=f"http://127.0.0.1:{port}/photo.jpg",
    )
    refused, _ = renditions.claim(link, "resize=width:64")
    renditions.compute(refused.pk)
    refused.refresh_from_db()
    assert refused.status == Rendition.Status.FAILED and refused.error_code == "url_refused"
    assert hits == []
    refused.delete()
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{port}"]
    rendition, created = renditions.claim(link, "resize=width:64")
    assert created
    renditions.compute(rendition.pk)
    rendition.refresh_from_db()
    assert rendition.status == Rendition.Status.READY
    assert (rendition.width, rendition.height) == (64, 48)
    assert hits == ["/photo.jpg"]


def test_legacy_and_cdn_grammars_give_the_same_spec():
    legacy = from_legacy(
        {
            "w": "400",
            "height": "300",
            "fit": "crop",
            "align": "top",
            "rotate": "90",
            "format": "png",
            "quality": "70",
        },
        storing=False,
    )
    cdn = from_tasks(
        parse(
            "output=quality:70,format:png/rotate=deg:90/"
            "resize=align:top,fit:crop,height:300,width:400/H"
        ).tasks
    )
    assert legacy.spec != cdn.spec  # the CDN keeps the order it was given
    in_order = from_tasks(
        parse(
            "resize=width:400,height:300,fit:crop,align:[top,center]/"
            "rotate=deg:90/output=format:png,quality:70/H"
        ).tasks
    )
    assert legacy.spec == in_order.spec
    assert legacy.operations == in_order.operations


@pytest.mark.usefixtures("converting")
def test_a_decompression_bomb_is_refused_over_http(client, app, store):
    bomb = bomb_png(30000, 30000)
    assert len(bomb) < 200_000
    handle = store(app, bomb, filename="bomb.png").json()["handle"]
    response = client.get(f"/cdn/resize=width:100/{handle}")
    assert response.status_code == 413
    assert response.json()["error"] == "image_too_large"
    assert not any(r.key for r in Rendition.objects.all())
    assert body(client.get(f"/api/file/{handle}")) == bomb


@pytest.mark.usefixtures("converting")
def test_cdn_with_an_api_key_and_a_handle(client, app, other_app, store):
    handle = store(app, JPEG, filename="p.jpg").json()["handle"]
    ok = client.get(f"/cdn/{app.apikey}/resize=width:32/{handle}")
    assert ok.status_code == 200 and open_image(body(ok)).size == (32, 24)
    wrong = client.get(f"/cdn/{other_app.apikey}/resize=width:32/{handle}")
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong_apikey"

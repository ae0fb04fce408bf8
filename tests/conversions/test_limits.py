"""Bounded conversion work: tasks per chain, the pixel budget, the spec length, header checks in
the web process, and jobs whose worker dies."""

import io
import os
import struct
import time

import pytest
from celery.signals import before_task_publish
from django.conf import settings
from PIL import Image

from conversions.engine import PixelBudgetExceeded, check_chain, probe, render
from conversions.models import Rendition
from conversions.operations import Flip, Resize, Rotate
from conversions.sources import BLOCK, HEADER_BYTES, HeaderBeyondLimit, RangeReader
from tests.conftest import body
from tests.conversions.conftest import image_bytes, open_image
from tests.conversions.images import bomb_png, encode


@pytest.fixture
def small(app, store):
    return store(app, image_bytes((64, 48)), filename="small.jpg").json()


@pytest.mark.usefixtures("converting")
def test_a_chain_of_76_steps_is_a_400_naming_the_limit(client, small):
    chain = "/".join(["flip", "flop"] * 38)
    response = client.get(f"/cdn/{chain}/{small['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "too_many_tasks"
    assert "76 tasks" in error["detail"] and "OPENPICKER_CDN_MAX_TASKS" in error["detail"]
    assert not Rendition.objects.exists()


@pytest.mark.usefixtures("converting")
def test_the_task_limit_counts_every_task_of_the_chain(client, app, small):
    limit = settings.OPENPICKER_CDN_MAX_TASKS
    at_limit = client.get(f"/cdn/{'/'.join(['flip'] * limit)}/{small['handle']}")
    assert at_limit.status_code == 200, at_limit.content
    assert open_image(body(at_limit)).size == (64, 48)
    # security, cache and store are tasks too.
    over = client.get(f"/cdn/cache=false/{'/'.join(['flip'] * limit)}/{small['handle']}")
    assert over.status_code == 400 and over.json()["error"] == "too_many_tasks"
    assert f"{limit + 1} tasks" in over.json()["detail"]


@pytest.mark.usefixtures("converting")
def test_a_chain_over_the_pixel_budget_is_a_400_naming_it(client, app, store):
    # 4000x3125 is 12.5 MP, well under the per-image cap; the source and twenty flips of it are
    # 262.5 MP, over the default budget of 250 MP.
    assert settings.OPENPICKER_CONVERT_PIXEL_BUDGET == 250_000_000
    large = store(app, image_bytes((4000, 3125)), filename="large.jpg").json()
    response = client.get(f"/cdn/{'/'.join(['flip'] * 20)}/{large['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "pixel_budget"
    assert "OPENPICKER_CONVERT_PIXEL_BUDGET" in error["detail"]


def test_the_budget_counts_the_source_and_every_step():
    source = image_bytes((100, 100))
    # 10,000 source pixels + 4 flips of 10,000 = 50,000: exactly the budget.
    out = render(io.BytesIO(source), [Flip()] * 4, pixel_budget=50_000)
    assert (out.width, out.height) == (100, 100)
    with pytest.raises(PixelBudgetExceeded):
        render(io.BytesIO(source), [Flip()] * 5, pixel_budget=50_000)
    # A resize counts its result, not its source: 10,000 + 100 + 4 flips of 100.
    check_chain([Resize(10), *[Flip()] * 4], (100, 100), pixel_budget=10_500)
    with pytest.raises(PixelBudgetExceeded):
        check_chain([Resize(10), *[Flip()] * 5], (100, 100), pixel_budget=10_500)
    # Steps that do nothing to the pixels cost nothing.
    check_chain([Rotate(0), Rotate("exif")], (100, 100), pixel_budget=10_000)


@pytest.mark.usefixtures("converting")
def test_a_2000_character_cdn_spec_is_a_400(client, small):
    # One valid resize whose width is written with leading zeros: 2,000 characters as written,
    # a short canonical spec.
    task = "resize=width:" + "0" * (2000 - len("resize=width:") - 2) + "32"
    assert len(task) == 2000
    response = client.get(f"/cdn/{task}/{small['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "spec_too_long" and "2,000 characters" in error["detail"]
    assert not Rendition.objects.exists()


@pytest.mark.usefixtures("converting")
def test_a_canonical_spec_longer_than_the_cache_column_is_a_400(client, small):
    # 519 characters as written, 1,139 once defaults are spelled out (fit, align): on
    # PostgreSQL the rendition row could not be written at all.
    chain = "/".join(["resize=width:64,height:48"] * 20)
    response = client.get(f"/cdn/{chain}/{small['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "spec_too_long" and "canonical" in error["detail"]
    assert not Rendition.objects.exists()
    short = client.get(f"/cdn/{'/'.join(['resize=width:32,height:24'] * 2)}/{small['handle']}")
    assert short.status_code == 200 and open_image(body(short)).size == (32, 24)


@pytest.mark.usefixtures("converting")
def test_a_2000_character_legacy_spec_is_a_400(client, app, small):
    width = "0" * 1996 + "32"
    for method in (client.get, client.post):
        response = method(f"/api/file/{small['handle']}/convert?key={app.apikey}&w={width}")
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "spec_too_long"
    assert not Rendition.objects.exists()
    # The same width written plainly converts.
    ok = client.get(f"/api/file/{small['handle']}/convert?w=32")
    assert ok.status_code == 200 and open_image(body(ok)).size == (32, 24)


@pytest.fixture
def published():
    """The Celery tasks this (web) process sends to the broker."""
    sent = []

    def record(sender=None, **kwargs):
        sent.append(sender)

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


@pytest.mark.usefixtures("converting")
def test_a_bomb_sent_to_the_cdn_is_refused_in_the_web_process(client, app, store, published):
    bomb = bomb_png(30_000, 30_000)  # 900 megapixels, 112 MB decoded even at one bit per pixel
    handle = store(app, bomb, filename="bomb.png").json()["handle"]
    started = time.monotonic()
    response = client.get(f"/cdn/resize=width:100/{handle}")
    elapsed = time.monotonic() - started
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "image_too_large" and "pixels" in response.json()["detail"]
    assert elapsed < 1.0
    assert published == [] and not Rendition.objects.exists()
    # The same request on a real image is queued: the recorder sees what is sent.
    photo = store(app, image_bytes((64, 48)), filename="p.jpg").json()["handle"]
    assert client.get(f"/cdn/resize=width:10/{photo}").status_code == 200
    assert published == ["conversions.render"] and Rendition.objects.count() == 1


@pytest.mark.usefixtures("converting")
def test_a_non_image_is_refused_before_anything_is_queued(client, app, store, published):
    pdf = store(app, b"%PDF-1.4\n" + b"0" * 300_000, filename="doc.pdf").json()["handle"]
    for response in (
        client.get(f"/cdn/resize=width:10/{pdf}"),
        client.get(f"/api/file/{pdf}/convert?w=10"),
        client.post(f"/api/file/{pdf}/convert?key={app.apikey}", {"w": 10}),
    ):
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "image_refused"
    assert published == [] and not Rendition.objects.exists()


@pytest.mark.usefixtures("converting")
def test_a_chain_over_budget_is_refused_before_anything_is_queued(
    client, app, store, published, settings
):
    settings.OPENPICKER_CONVERT_PIXEL_BUDGET = 10_000  # this process only: the worker keeps 250 MP
    photo = store(app, image_bytes((100, 100)), filename="p.jpg").json()["handle"]
    refused = client.get(f"/cdn/flip/{photo}")
    assert refused.status_code == 400 and refused.json()["error"] == "pixel_budget"
    assert published == [] and not Rendition.objects.exists()
    resized = client.get(f"/cdn/resize=width:10/{photo}")  # 10,000 + 100 > 10,000 too
    assert resized.status_code == 400
    settings.OPENPICKER_CONVERT_PIXEL_BUDGET = 10_100
    assert client.get(f"/cdn/resize=width:10/{photo}").status_code == 200


def _counting_reader(data: bytes) -> tuple[RangeReader, list[tuple[int, int]]]:
    ranges = []

    def fetch(start, end):
        ranges.append((start, end))
        return data[start : end + 1]

    return RangeReader(fetch, len(data)), ranges


def test_the_probe_reads_only_the_header_by_ranges():
    size = (700, 700)
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF"):
        mode, depth = ("P", 1) if fmt == "GIF" else ("RGB", 3)
        data = encode(Image.frombytes(mode, size, os.urandom(size[0] * size[1] * depth)), fmt)
        assert len(data) > 4 * BLOCK, fmt
        reader, ranges = _counting_reader(data)
        assert probe(reader)[:2] == size, fmt
        # A TIFF's directory may follow the pixels: one range at the start, one at the end.
        assert reader.bytes_read <= 2 * BLOCK, (fmt, ranges)
        assert len(ranges) <= 2, (fmt, ranges)


def test_a_header_beyond_the_probe_limit_is_left_to_the_worker():
    # A JPEG whose 80 comment segments (5 MB) come before the frame header.
    jpeg = image_bytes((16, 16))
    comments = b"".join(b"\xff\xfe\xff\xff" + b"c" * 0xFFFD for _ in range(80))
    padded = jpeg[:2] + comments + jpeg[2:]
    assert probe(io.BytesIO(padded))[:2] == (16, 16)
    reader, _ = _counting_reader(padded)
    with pytest.raises(HeaderBeyondLimit):
        probe(reader)
    assert reader.bytes_read <= HEADER_BYTES


@pytest.mark.usefixtures("converting")
def test_a_bomb_behind_a_large_header_is_still_refused_by_the_worker(client, app, store):
    jpeg = bytearray(image_bytes((16, 16)))
    frame = jpeg.index(b"\xff\xc0")
    jpeg[frame + 5 : frame + 9] = struct.pack(">HH", 60_000, 60_000)  # height, width
    comments = b"".join(b"\xff\xfe\xff\xff" + b"c" * 0xFFFD for _ in range(80))
    bomb = bytes(jpeg[:2]) + comments + bytes(jpeg[2:])
    handle = store(app, bomb, filename="bomb.jpg").json()["handle"]
    response = client.get(f"/cdn/resize=width:100/{handle}")
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "image_too_large"
    # Queued (the web process could not see the header), then refused by the worker.
    assert Rendition.objects.get().status == Rendition.Status.FAILED

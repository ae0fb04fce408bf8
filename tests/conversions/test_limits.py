"""Bounded conversion work: tasks per chain, the pixel budget, the spec length, header checks in
the web process, and jobs whose worker dies."""

import io
import os
import struct
import threading
import time
from datetime import timedelta

import psutil
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image

from conversions import renditions
from conversions.engine import PixelBudgetExceeded, check_chain, probe, render
from conversions.grammar import from_tasks
from conversions.models import Rendition
from conversions.operations import Flip, Resize, Rotate
from conversions.sources import BLOCK, HEADER_BYTES, open_head
from picker.cdn import parse
from picker.errors import PickerError
from picker.models import FileLink
from picker.streams import ReadBudgetExceeded
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


@pytest.mark.usefixtures("converting")
def test_a_bomb_sent_to_the_cdn_is_refused_in_the_web_process(
    client, app, store, published, settings
):
    settings.OPENPICKER_CONVERT_INLINE = 0  # conversions go to the queue: what is sent is seen
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


def _noise(size: tuple[int, int], fmt: str) -> bytes:
    mode, depth = ("P", 1) if fmt == "GIF" else ("RGB", 3)
    return encode(Image.frombytes(mode, size, os.urandom(size[0] * size[1] * depth)), fmt)


def _padded_jpeg(jpeg: bytes) -> bytes:
    """The JPEG with 80 comment segments (5 MB) before its frame header."""
    comments = b"".join(b"\xff\xfe\xff\xff" + b"c" * 0xFFFD for _ in range(80))
    return jpeg[:2] + comments + jpeg[2:]


def test_the_probe_reads_only_the_header_by_ranges(app, store):
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF"):
        data = _noise((700, 700), fmt)
        assert len(data) > 4 * BLOCK, fmt
        link = FileLink.objects.get(handle=store(app, data, filename=f"n.{fmt}").json()["handle"])
        with open_head(link) as head:
            assert probe(head)[:2] == (700, 700), fmt
            # One block of the 300 KB to 1.5 MB file. A TIFF's directory follows its pixels: a
            # block at the start, one at the end, the start again (one block is buffered).
            assert head.raw.fetched == (3 if fmt == "TIFF" else 1) * BLOCK, fmt


def test_a_header_beyond_the_probe_limit_is_left_to_the_worker(app, store):
    padded = _padded_jpeg(image_bytes((16, 16)))
    assert probe(io.BytesIO(padded))[:2] == (16, 16)
    link = FileLink.objects.get(handle=store(app, padded, filename="p.jpg").json()["handle"])
    with open_head(link) as head, pytest.raises(ReadBudgetExceeded):
        probe(head)
    assert head.raw.fetched <= HEADER_BYTES
    renditions.admit(link, from_tasks(parse(f"resize=width:8/{link.handle}").tasks))


@pytest.mark.usefixtures("converting")
@pytest.mark.parametrize("inline", [2, 0], ids=["in-the-web-process", "on-the-queue"])
def test_a_bomb_behind_a_large_header_is_still_refused_by_the_job(
    client, app, store, settings, inline
):
    settings.OPENPICKER_CONVERT_INLINE = inline
    jpeg = bytearray(image_bytes((16, 16)))
    frame = jpeg.index(b"\xff\xc0")
    jpeg[frame + 5 : frame + 9] = struct.pack(">HH", 60_000, 60_000)  # height, width
    bomb = _padded_jpeg(bytes(jpeg))
    handle = store(app, bomb, filename="bomb.jpg").json()["handle"]
    response = client.get(f"/cdn/resize=width:100/{handle}")
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "image_too_large"
    # Admitted (the header was too large to see), then refused by the job before decoding.
    assert Rendition.objects.get().status == Rendition.Status.FAILED


def _kill_the_job_process(port: int) -> None:
    """SIGKILL the Celery pool process reading from the origin on `port` (the job's process).

    Any conversions worker of this test run may hold the job: a module importing the worker
    fixture starts its own session worker on the same queue."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for process in psutil.Process().children(recursive=True):
            try:
                reading = any(
                    c.raddr and c.raddr.port == port for c in process.net_connections(kind="tcp")
                )
                if reading and "celery" in " ".join(process.cmdline()):
                    process.kill()
                    return
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.02)
    raise AssertionError("no pool process read the source")


def test_a_job_whose_worker_dies_is_retried_then_fails_with_a_clear_error(
    converting, stalling_origin, app, store, settings
):
    # The source is a symlink on an origin that sends 128 KiB and then stalls: the web process
    # reads the header and queues the job; every worker that starts it blocks mid-read and is
    # killed, as the kernel's OOM killer would.
    # Redis gives the job back as soon as its worker is lost; the embedded SQL broker does not,
    # and a request that finds the job stale (here after 5 s, not 300) queues it again.
    settings.OPENPICKER_CONVERT_INLINE = 0  # the job runs on the queue's workers
    redelivers = settings.CELERY_BROKER_URL.startswith("redis")
    if not redelivers:
        settings.OPENPICKER_CONVERT_STALE = 5
    attempts = settings.OPENPICKER_CONVERT_ATTEMPTS
    assert attempts == 3
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{stalling_origin.port}"]
    settings.OPENPICKER_CONVERT_WAIT = 120
    png = encode(Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3)), "PNG")
    link = FileLink.objects.create(
        app=app,
        kind=FileLink.Kind.SYMLINK,
        filename="dies.png",
        mimetype="image/png",
        size=len(png),
        source_url=stalling_origin.serve("/dies.png", png, head=128 * 1024),
    )
    answer = {}

    def request():
        try:
            answer["response"] = Client().get(f"/cdn/resize=width:50/{link.handle}")
        finally:
            connection.close()

    waiting = threading.Thread(target=request)
    started = time.monotonic()
    waiting.start()
    killed_at = []
    while waiting.is_alive() and time.monotonic() - started < 90:
        row = Rendition.objects.filter(source=link).first()
        if row and row.status == "pending" and len(killed_at) < row.attempts <= attempts:
            _kill_the_job_process(stalling_origin.port)
            killed_at.append(row.attempts)
        time.sleep(0.02)
    waiting.join(5)
    assert not waiting.is_alive(), (killed_at, converting.output()[-6000:])
    # Every start was killed, and exactly three starts read the source (besides the web
    # process's header read): duplicates a slow broker may cause give up without reading.
    assert len(killed_at) == attempts
    assert stalling_origin.hits.count("/dies.png") == 1 + attempts
    response = answer["response"]
    assert response.status_code == 500, response.content
    error = response.json()
    assert error["error"] == "conversion_failed"
    assert "started 3 times" in error["detail"] and "worker stopped" in error["detail"]
    row = Rendition.objects.get(source=link)
    assert (row.status, row.key) == ("failed", "")
    if redelivers:
        # Three deliveries that died, and a fourth that gave up without reading the source.
        assert row.attempts == attempts + 1
    assert converting.process.poll() is None, converting.output()
    # The worker still works.
    handle = store(app, image_bytes((64, 48)), filename="p.jpg").json()["handle"]
    after = Client().get(f"/cdn/resize=width:10/{handle}")
    assert after.status_code == 200, converting.output()[-3000:]


def test_a_start_past_the_attempts_gives_up_without_work(app, store):
    text = store(app, b"not an image at all", filename="a.txt").json()["handle"]
    link = FileLink.objects.get(handle=text)
    row = Rendition.objects.create(source=link, version=link.version, spec="flip", attempts=3)
    renditions.compute(row.pk)
    row.refresh_from_db()
    # Not image_refused: the source was never opened.
    assert (row.status, row.error_code, row.error_status) == ("failed", "conversion_failed", 500)
    again = Rendition.objects.create(source=link, version=link.version, spec="flop", attempts=2)
    renditions.compute(again.pk)
    again.refresh_from_db()
    assert (again.status, again.error_code, again.attempts) == ("failed", "image_refused", 3)


def test_a_stale_claim_is_requeued_until_the_attempts_are_spent(converting, app, store, published):
    handle = store(app, image_bytes((64, 48)), filename="p.jpg").json()["handle"]
    link = FileLink.objects.get(handle=handle)
    conversion = from_tasks(parse(f"flip/{handle}").tasks)
    long_ago = timezone.now() - renditions.stale_after() - timedelta(seconds=5)
    stale = {"status": "pending", "queued_at": long_ago, "started_at": long_ago}
    row = Rendition.objects.create(
        source=link, version=link.version, spec=conversion.spec, attempts=1, **stale
    )
    # Started once and its worker gone: queued again, and the worker's second attempt runs.
    renditions.request_rendition(link, conversion, "u", timeout=0)
    assert published == ["conversions.render"]
    deadline = time.monotonic() + 30
    while (row := Rendition.objects.get(pk=row.pk)).status == "pending":
        assert time.monotonic() < deadline, converting.output()
        time.sleep(0.05)
    assert (row.status, row.attempts) == ("ready", 2) and row.queued_at > long_ago
    # Started as often as allowed: failed at once, nothing queued.
    Rendition.objects.filter(pk=row.pk).update(attempts=3, key="", **stale)
    with pytest.raises(PickerError) as refused:
        renditions.request_rendition(link, conversion, "u", timeout=0)
    assert (refused.value.status, refused.value.code) == (500, "conversion_failed")
    assert "started 3 times" in refused.value.detail
    assert published == ["conversions.render"]
    row.refresh_from_db()
    assert (row.status, row.error_code) == ("failed", "conversion_failed")

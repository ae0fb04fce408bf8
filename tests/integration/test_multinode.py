"""Two deployments sharing one database, one broker and one S3 (moto's server): each node is a
whole `manage.py serve` (web, worker, webhooks worker, beat) with its own data dir and port.

What one node stores, the other reads, converts and removes; conversions asked of one are
computed by whichever worker takes them; with a beat on each node (the operator's mistake) no
webhook attempt and no periodic job's work is done twice; the Flickr budget is one budget.
Then node A is killed with SIGKILL in the middle of uploads, conversions and deliveries, and
node B finishes what was queued: nothing lost, no half-written row or object.
"""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import boto3
import pytest
import requests
from django.conf import settings
from django.utils import timezone
from PIL import Image

from conversions.models import Rendition
from picker import events
from picker.models import FileLink, MultipartUpload
from tests.conftest import server_env
from tests.servers import ROOT, Serve
from tests.webhooks.conftest import Receiver
from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint

pytestmark = pytest.mark.usefixtures("transactional_db")

BUCKET = "multinode"
LEASE = 20


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 40 + seed).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def receiver():
    running = Receiver(delay=0.3).start()
    yield running
    running.stop()


@pytest.fixture
def nodes(moto, receiver, tmp_path):
    moto.create_bucket(BUCKET)
    shared = server_env(
        OPENPICKER_STORAGE="s3",
        AWS_S3_ENDPOINT_URL=moto.url,
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_S3_REGION_NAME="us-east-1",
        # The same secrets on every node (the app secrets are encrypted with these keys).
        OPENPICKER_SECRET_KEY=settings.SECRET_KEY,
        OPENPICKER_ENCRYPTION_KEYS=",".join(settings.OPENPICKER_ENCRYPTION_KEYS),
        OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{receiver.port}",
        OPENPICKER_WEBHOOK_SWEEP_EVERY="1",
        # Long enough for the backlog of the kill phase (a claim is taken when the attempt is
        # queued; one that waits longer than its lease is voided and claimed again).
        OPENPICKER_WEBHOOK_LEASE=str(LEASE),
        OPENPICKER_MULTIPART_EXPIRE_EVERY="1",
        # Longer than a job takes here, so no job is queued again while its first run is still
        # under way on the other node.
        OPENPICKER_CONVERT_STALE="30",
        # Conversions go through the shared queue (a web process computes none itself), so
        # those asked of A are computed by whichever node's worker takes them.
        OPENPICKER_CONVERT_INLINE="0",
        # The kill phase holds uploads open until node A dies, which on a loaded machine can be
        # longer than the default 30 s a body may stall: they must be cut, not timed out (408).
        OPENPICKER_BODY_READ_TIMEOUT="300",
        OPENPICKER_BODY_DEADLINE="600",
        OPENPICKER_WORKER_CONCURRENCY="2",
        OPENPICKER_WEBHOOK_CONCURRENCY="8",
        OPENPICKER_WEB_WORKERS="2",
    )
    # One broker for both nodes and this process: the profile's (Redis, or the embedded one's
    # file in the test data dir).
    shared["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    started = {}
    for name in ("a", "b"):
        data = tmp_path / name
        data.mkdir()
        started[name] = Serve(
            {**shared, "OPENPICKER_DATA_DIR": str(data)}, tmp_path / f"{name}.log"
        )
    for node in started.values():
        node.wait_up()
    yield started["a"], started["b"]
    for node in started.values():
        node.stop()


def s3(moto):
    return boto3.client(
        "s3",
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def objects(moto) -> set[str]:
    pages = s3(moto).get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def task_lines(node: Serve, task: str) -> list[dict]:
    out = []
    for line in node.output().splitlines():
        if line.startswith("{") and f'"task": "{task}"' in line:
            out.append(json.loads(line))
    return out


def wait_until(condition, what: str, nodes_alive=(), timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for node in nodes_alive:
            assert node.process.poll() is None, node.output()[-4000:]
        assert time.monotonic() < deadline, (what, unfinished(), nodes_alive[-1].output()[-6000:])
        time.sleep(0.2)


def unfinished() -> list:
    """What is not done yet (for failure messages)."""
    return [
        *Delivery.objects.exclude(status="delivered").values(
            "pk", "status", "scheduled_attempts", "next_attempt_at", "lease_until"
        ),
        *Rendition.objects.exclude(status="ready").values("pk", "status", "attempts"),
    ]


def store(node: Serve, app, data: bytes, filename: str) -> dict:
    response = requests.post(
        f"{node.url}/api/store/S3?key={app.apikey}&filename={filename}", data=data, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.timeout(900)
def test_two_nodes_share_the_work_and_b_finishes_what_a_left(nodes, moto, app, receiver, settings):
    a, b = nodes
    settings.OPENPICKER_WEBHOOK_LEASE = LEASE  # the events this process publishes too
    WebhookEndpoint.objects.create(app=app, url=receiver.url, actions=["all"])

    # Stored through A; read, converted and removed through B.
    data = jpeg(300, 200)
    blob = store(a, app, data, "shared.jpg")
    handle = blob["handle"]
    read = requests.get(f"{b.url}/api/file/{handle}", timeout=30)
    assert read.status_code == 200 and read.content == data
    converted = requests.get(f"{b.url}/api/file/{handle}/convert?w=30", timeout=60)
    assert converted.status_code == 200, converted.text
    assert Image.open(io.BytesIO(converted.content)).size == (30, 20)
    link = FileLink.objects.get(handle=handle)
    assert any(key.endswith(link.key) for key in objects(moto))
    removed = requests.delete(f"{b.url}/api/file/{handle}?key={app.apikey}", timeout=30)
    assert removed.status_code == 200, removed.text
    assert not any(key.endswith(link.key) for key in objects(moto))

    # Conversions asked of A, computed by whichever worker takes them.
    source = store(a, app, jpeg(800, 600, 1), "many.jpg")["handle"]
    widths = range(40, 52)
    answers = {}

    def convert(width):
        answers[width] = requests.get(
            f"{a.url}/api/file/{source}/convert?w={width}", timeout=90
        ).status_code

    threads = [threading.Thread(target=convert, args=(width,)) for width in widths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers.values()) == {200}, answers
    by_node = {
        name: len(task_lines(node, "conversions.render")) for name, node in (("a", a), ("b", b))
    }
    assert sum(by_node.values()) >= len(widths), by_node

    # Two beats: the webhook sweeper and the multipart sweeper run on both nodes every second.
    old = timezone.now() - timedelta(days=3)
    MultipartUpload.objects.bulk_create(
        MultipartUpload(upload_id=f"gone-{n}", app=app, filename="x", size=1, created_at=old)
        for n in range(60)
    )
    wait_until(lambda: not MultipartUpload.objects.exists(), "the sweepers", (a, b))

    def expired() -> int:  # what the sweeps on both nodes say they expired
        return sum(
            line.get("returned") or 0
            for node in (a, b)
            for line in task_lines(node, "picker.tasks.expire_multipart_uploads")
        )

    wait_until(lambda: expired() >= 60, "the sweepers' task lines", (a, b))
    time.sleep(3)  # any sweep still finishing
    assert expired() == 60
    wait_until(
        lambda: not Delivery.objects.exclude(status="delivered").exists(), "deliveries", (a, b)
    )
    ids = Counter(got.json["id"] for got in receiver.received)
    assert set(ids) == set(Event.objects.values_list("pk", flat=True))
    assert set(ids.values()) == {1}, ids  # no attempt made twice
    assert Attempt.objects.count() == Delivery.objects.count()

    # One Flickr budget: processes with each node's environment spend it together.
    spender = (
        "import os, sys, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'openpicker.settings')\n"
        "django.setup()\n"
        "from providers import limits\nfrom providers.errors import ProviderError\n"
        "allowed = 0\n"
        "for _ in range(30):\n"
        "    try:\n"
        f"        limits.spend('flickr', 'multinode-{uuid.uuid4().hex}', 40); allowed += 1\n"
        "    except ProviderError:\n"
        "        pass\n"
        "print(allowed)\n"
    )
    spenders = [
        subprocess.Popen(
            [sys.executable, "-c", spender],
            cwd=ROOT,
            env=node.process_env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for node in (a, b)
    ]
    allowed = [int(process.communicate(timeout=60)[0].strip()) for process in spenders]
    assert sum(allowed) == 40, allowed

    # Node A dies in the middle of uploads, conversions and deliveries.
    receiver.received.clear()
    receiver.delay = 3.0  # deliveries are still under way when A dies
    killed = threading.Event()
    before = set(Event.objects.values_list("pk", flat=True))
    uploads_done = []

    def slow_upload(n):
        """A raw-body store whose last bytes come only after node A is dead."""
        body = jpeg(600, 400, n)
        connection = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
        try:
            connection.putrequest("POST", f"/api/store/S3?key={app.apikey}&filename=slow{n}.jpg")
            connection.putheader("Content-Type", "image/jpeg")
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders()
            connection.send(body[:-1000])
            killed.wait(120)
            connection.send(body[-1000:])
            uploads_done.append(connection.getresponse().status)
        except (OSError, http.client.HTTPException):
            uploads_done.append("cut")
        finally:
            connection.close()

    big = store(a, app, jpeg(3000, 2250, 2), "big.jpg")["handle"]
    # Rotating the whole photo three times first makes each job take a while (seconds).
    conversions = [
        f"/cdn/{app.apikey}/rotate=deg:{deg}/rotate=deg:17/rotate=deg:5/resize=width:100/{big}"
        for deg in range(31, 41)
    ]
    workers = [threading.Thread(target=slow_upload, args=(n,)) for n in range(4)]

    def ask(path):
        try:
            requests.get(a.url + path, timeout=60)
        except requests.RequestException:
            pass  # node A died under this request

    workers += [threading.Thread(target=ask, args=(path,)) for path in conversions]
    for thread in workers:
        thread.start()
    with_events = [events.DialogOpen(app=app, origin=f"https://shop{n}.example") for n in range(80)]
    for event in with_events:
        events.publish(event)
    wait_until(lambda: len(receiver.received) >= 5, "the first deliveries", (a, b))
    wait_until(
        lambda: Rendition.objects.filter(source__handle=big).count() >= len(conversions) // 2,
        "the conversions queued",
        (a, b),
    )
    in_flight = {
        "uploads": 4 - len(uploads_done),
        "conversions": Rendition.objects.filter(source__handle=big).exclude(status="ready").count(),
        "deliveries": Delivery.objects.exclude(status="delivered").count(),
    }
    a.kill()
    killed.set()
    for thread in workers:
        thread.join(90)
    print(f"in flight when node A was killed: {in_flight}")
    assert all(in_flight.values()), in_flight
    assert uploads_done.count("cut") == 4, uploads_done

    # B finishes: the conversions (asked again, the way a client retries), every delivery.
    for path in conversions:
        deadline = time.monotonic() + 180
        while (response := requests.get(b.url + path, timeout=90)).status_code == 202:
            assert time.monotonic() < deadline, (path, unfinished())  # a client asks again
        assert response.status_code == 200, (path, response.text, b.output()[-6000:])
    wait_until(
        lambda: not Delivery.objects.exclude(status="delivered").exists(),
        "B delivering what A held",
        (b,),
        timeout=180,
    )
    new = set(Event.objects.values_list("pk", flat=True)) - before
    got = Counter(item.json["id"] for item in receiver.received)
    assert new <= set(got), sorted(new - set(got))
    duplicates = sum(count - 1 for count in got.values())
    print(f"after the kill: {len(new)} events, {duplicates} delivered twice (at least once)")

    # Nothing half-written: every stored row has its object and every object a row.
    assert not Rendition.objects.exclude(status="ready").exists()
    keys = objects(moto)
    links = FileLink.objects.filter(kind=FileLink.Kind.STORED, deleted_at__isnull=True)
    rendition_keys = [key for key in Rendition.objects.values_list("key", flat=True) if key]
    for link in links:
        assert any(key.endswith(link.key) for key in keys), link.key
    for key in keys:
        assert any(key.endswith(link.key) for link in links) or any(
            key.endswith(r) for r in rendition_keys
        ), key

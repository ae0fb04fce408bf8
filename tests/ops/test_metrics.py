"""`/metrics`: behind its token, in Prometheus' text format (parsed by prometheus_client's own
parser), added up over the web workers and the Celery worker (multiprocess mode), its counters
moving as a test stores, converts and delivers through real processes."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from providers import limits
from tests.conftest import server_env
from tests.servers import CeleryWorker, OpenPickerServer
from tests.webhooks.conftest import Receiver
from webhooks.models import Delivery, Event, WebhookEndpoint

TOKEN = "metrics-token-7f3a9c"


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def node(transactional_db, receiver):
    """A web server and one worker on the conversions and webhooks queues."""
    env = server_env(
        OPENPICKER_METRICS_TOKEN=TOKEN, OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{receiver.port}"
    )
    server = OpenPickerServer(env)
    worker = CeleryWorker(env, queues="conversions,webhooks", concurrency=2)
    yield server, worker
    worker.stop()
    server.stop()


def scrape(server) -> dict[tuple[str, tuple], float]:
    response = requests.get(
        server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples, name: str, **labels) -> float:
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


def wait_for(condition, worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.process.poll() is None, worker.output()
        assert time.monotonic() < deadline, worker.output()[-4000:]
        time.sleep(0.2)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_metrics_are_a_404_without_the_token(node):
    server, _ = node
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = requests.get(server.url + "/metrics", headers=headers, timeout=10)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_metrics_off_when_no_token_is_set(client, db, settings):
    settings.OPENPICKER_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.OPENPICKER_METRICS_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_counters_move_as_files_are_stored_converted_and_delivered(node, app, receiver):
    server, worker = node
    WebhookEndpoint.objects.create(app=app, url=receiver.url, actions=["fp.upload"])
    before = scrape(server)
    data = jpeg()

    stored = requests.post(
        f"{server.url}/api/store/S3?key={app.apikey}&filename=m.jpg", data=data, timeout=30
    )
    assert stored.status_code == 200, stored.text
    handle = stored.json()["handle"]
    converted = requests.get(f"{server.url}/api/file/{handle}/convert?w=16", timeout=60)
    assert converted.status_code == 200, converted.text
    wait_for(lambda: len(receiver.received) >= 1, worker)
    wait_for(lambda: total(scrape(server), "openpicker_webhook_attempts_total") > 0, worker)
    after = scrape(server)

    def moved(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("openpicker_stores_total") == 1
    assert moved("openpicker_stored_bytes_total") == len(data)
    assert moved("openpicker_conversions_total", result="ready") == 1
    # A free slot in the web process: the request computed it there (conversions.jobs).
    assert moved("openpicker_conversions_total", result="ready", where="web") == 1
    assert moved("openpicker_conversion_duration_seconds_count") == 1
    # The one delivery went through the webhooks queue (>=: a message an earlier test left on
    # the broker may be consumed here too); the conversion went through none (computed above).
    assert moved("openpicker_task_queue_wait_seconds_count", queue="webhooks") >= 1
    assert moved("openpicker_webhook_attempts_total", result="delivered") == 1
    store_route = "/api/store/<str:location>"
    assert (
        moved("openpicker_http_request_duration_seconds_count", route=store_route, status="200")
        == 1
    ), sorted(name for name in after if name[0].startswith("openpicker_http"))
    assert moved("openpicker_tasks_total", task="webhooks.deliver", state="SUCCESS") >= 1


def test_deployment_gauges_read_the_shared_state(node, app):
    server, _ = node
    assert total(scrape(server), "openpicker_webhook_oldest_due_seconds") == 0
    endpoint = WebhookEndpoint.objects.create(app=app, url="https://hooks.example/x")
    event = Event.objects.create(app=app, action="fp.upload", text={})
    Delivery.objects.create(
        event=event, endpoint=endpoint, next_attempt_at=timezone.now() - timedelta(seconds=90)
    )
    assert 90 <= total(scrape(server), "openpicker_webhook_oldest_due_seconds") < 120

    key = f"metrics-test-{time.time()}"
    for _ in range(3):
        limits.spend("flickr", key, 3600)
    samples = scrape(server)
    digest = limits.digest(f"flickr:{key}")[:12]
    assert total(samples, "openpicker_flickr_calls_this_hour", key=digest) == 3
    assert total(samples, "openpicker_flickr_calls_per_hour_limit") == 3600
    limits.forget("flickr", key)

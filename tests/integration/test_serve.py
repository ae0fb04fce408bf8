"""`manage.py serve`: the Procfile's types (web, worker, webhooks with beat), run together."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import psutil
import pytest
import requests
from django.utils import timezone

from openpicker.broker import Transport
from picker.models import MultipartUpload
from picker.tasks import expire_multipart_uploads
from tests.conftest import server_env
from tests.servers import ROOT, archive, free_port, stop


@pytest.fixture
def serve(transactional_db, tmp_path):
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env={**os.environ, **server_env(OPENPICKER_BASE_URL=f"http://127.0.0.1:{port}")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.url, process.log_path = f"http://127.0.0.1:{port}", log_path
    yield process
    stop(process)
    archive(log_path, "serve")


def wait_for(condition, process, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.log_path.read_text(errors="replace")
        assert time.monotonic() < deadline, f"{what}:\n{process.log_path.read_text()[-4000:]}"
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 404
    except requests.RequestException:
        return False


def test_serve_runs_the_procfile_web_workers_and_beat_then_stops_them(serve, app):
    wait_for(lambda: answers(f"{serve.url}/api/file/{'x' * 20}/metadata"), serve, "web")
    log = serve.log_path
    wait_for(lambda: log.read_text(errors="replace").count(" ready.") == 2, serve, "workers")
    text = log.read_text(errors="replace")
    # Two workers: the celery and conversions queues, and the webhooks queue on its own.
    worker, webhooks = (text.index(f"[queues]\n                .> {queue} ") for queue in
                        ("celery", "webhooks"))  # fmt: skip
    assert ".> conversions " in text[worker : worker + 400]
    assert ".> conversions " not in text[webhooks : webhooks + 400]
    wait_for(lambda: "beat: Starting" in log.read_text(errors="replace"), serve, "beat")

    old = MultipartUpload.objects.create(
        upload_id="abandoned",
        app=app,
        filename="x",
        size=1,
        created_at=timezone.now() - timedelta(days=3),
    )
    expire_multipart_uploads.delay()
    wait_for(lambda: not MultipartUpload.objects.filter(pk=old.pk).exists(), serve, "the task")

    children = psutil.Process(serve.pid).children(recursive=True)
    # gunicorn master + 2 workers, two Celery workers (beat is a thread of the webhooks one):
    # no shell stays in between.
    assert len(children) == 5, [child.cmdline() for child in children]
    serve.send_signal(signal.SIGTERM)
    assert serve.wait(30) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


def test_embedded_broker_polls_fast_while_busy_and_slowly_at_rest():
    transport = Transport.__new__(Transport)
    transport.last_message = 100.0
    assert transport.interval(100.5) == Transport.polling_interval
    assert transport.interval(103.0) == pytest.approx(0.3)
    assert transport.interval(1000.0) == Transport.idle_polling_interval

"""A real Celery worker process on the profile's broker (Redis, or the local SQLite broker)."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from picker.models import MultipartUpload
from picker.tasks import expire_multipart_uploads
from tests.conftest import server_env
from tests.servers import ROOT, stop


@pytest.fixture
def worker(transactional_db, tmp_path):
    env = server_env()
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "openpicker",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    stop(process)
    log.close()


def test_worker_runs_the_multipart_expiry_task(worker, app, tmp_path):
    old = MultipartUpload.objects.create(
        upload_id="abandoned",
        app=app,
        filename="x",
        size=1,
        created_at=timezone.now() - timedelta(days=3),
    )
    fresh = MultipartUpload.objects.create(upload_id="fresh", app=app, filename="y", size=1)
    expire_multipart_uploads.delay()
    deadline = time.monotonic() + 60
    while MultipartUpload.objects.filter(pk=old.pk).exists():
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
        time.sleep(0.2)
    assert MultipartUpload.objects.filter(pk=fresh.pk).exists()
    assert settings.CELERY_BROKER_URL.split(":")[0] in {"redis", "sqla+sqlite"}

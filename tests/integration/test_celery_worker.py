"""A real Celery worker process on the profile's broker (Redis, or the local SQLite broker)."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from picker.models import MultipartUpload
from picker.tasks import expire_multipart_uploads
from tests.conftest import server_env
from tests.servers import CeleryWorker


@pytest.fixture
def worker(transactional_db):
    worker = CeleryWorker(server_env())
    yield worker
    worker.stop()


def test_worker_runs_the_multipart_expiry_task(worker, app):
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
        assert worker.process.poll() is None, worker.output()
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.2)
    assert MultipartUpload.objects.filter(pk=fresh.pk).exists()
    assert settings.CELERY_BROKER_URL.split(":")[0] in {"redis", "sqla+sqlite", "amqp"}

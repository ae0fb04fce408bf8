"""A real Celery worker on the `conversions` queue for the conversion tests over HTTP."""

import io

import pytest
from PIL import Image

from tests.conftest import server_env
from tests.servers import CeleryWorker


@pytest.fixture(scope="session")
def conversions_worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worker = CeleryWorker(server_env(), queues="conversions", concurrency=2)
    yield worker
    worker.stop()


@pytest.fixture
def converting(conversions_worker, transactional_db):
    """Tests that convert over HTTP: the worker (another process) must see committed rows."""
    assert conversions_worker.process.poll() is None, conversions_worker.output()
    return conversions_worker


def image_bytes(size=(1200, 900), fmt="JPEG", color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image

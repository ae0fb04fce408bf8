"""A real Celery worker on the `conversions` queue for the conversion tests over HTTP."""

import atexit
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.signals import before_task_publish
from PIL import Image

from tests.conftest import server_env
from tests.servers import CeleryWorker


class StallingOrigin:
    """A real HTTP server whose files send their first bytes at once, then stall the rest until
    released: a worker reading one is blocked mid-job for as long as a test needs."""

    def __init__(self):
        origin = self
        self.payloads: dict[str, tuple[bytes, int]] = {}
        self.release = threading.Event()
        self.hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                origin.hits.append(self.path)
                data, head = origin.payloads.get(self.path, (b"", 0))
                self.send_response(200 if data else 404)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data[:head])
                    self.wfile.flush()
                    origin.release.wait(120)
                    self.wfile.write(data[head:])
                except OSError:
                    pass  # the reader went away (a probe that had enough, a killed worker)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path: str, data: bytes, head: int) -> str:
        self.payloads[path] = (data, head)
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


_origin: list[StallingOrigin] = []


def shared_stalling_origin() -> StallingOrigin:
    """One stalling origin per test process: a module that imports the worker fixture gets its
    own session worker, and every such worker must allow the same origin."""
    if not _origin:
        _origin.append(StallingOrigin())
        atexit.register(_origin[0].stop)
    return _origin[0]


@pytest.fixture(scope="module")
def conversions_worker(django_db_setup, django_db_blocker):
    # One per module, stopped when the module ends: a worker left on the profile's conversions
    # queue would take the jobs of later tests that run deployments of their own on the same
    # broker (the multi-node test), and fail them against its own storage.
    # The worker may fetch from the stalling origin (symlinked sources), nothing else local.
    env = server_env(OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{shared_stalling_origin().port}")
    with django_db_blocker.unblock():
        worker = CeleryWorker(env, queues="conversions", concurrency=2)
    yield worker
    worker.stop()


@pytest.fixture
def stalling_origin() -> StallingOrigin:
    return shared_stalling_origin()


@pytest.fixture
def published():
    """The Celery tasks this (web) process sends to the broker."""
    sent = []

    def record(sender=None, **kwargs):
        sent.append(sender)

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


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

"""Browser-test fixtures: OpenPicker (sandbox providers, a Celery worker for conversions) in real
processes, the integrator's site on a second origin, and the stand-in for the seeds' public file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import server_env
from tests.servers import CeleryWorker, OpenPickerServer, self_signed_cert
from tests.widget.seeds import SEED_EXPORT_URL
from tests.widget.sites import Site

INTERNET = Path(__file__).resolve().parent / "internet"
SEED_FILE_SIZE = (640, 480)  # what the stand-in for the seeds' public file serves


def jpeg(size: tuple[int, int], colour=(200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="session")
def public_file(tmp_path_factory):
    """https://www.filestackapi.com/api/file/qHi4LxRh28IeEBdJcFpw, served here over TLS."""
    folder = tmp_path_factory.mktemp("public-file")
    cert, key = self_signed_cert(folder, dns=("www.filestackapi.com",))
    site = Site(tls=(cert, key))
    site.put(SEED_EXPORT_URL.split(".com", 1)[1], jpeg(SEED_FILE_SIZE), "image/jpeg")
    site.cert = cert
    yield site
    site.stop()


@pytest.fixture(scope="session")
def widget_api(django_db_setup, django_db_blocker, tmp_path_factory, public_file):
    """OpenPicker with the sandbox providers, its own broker and a worker for conversions."""
    broker = tmp_path_factory.mktemp("widget-broker") / "broker.sqlite3"
    env = server_env(
        OPENPICKER_SANDBOX="1",
        OPENPICKER_FLICKR_PAGE_SIZE="10",
        OPENPICKER_INSTAGRAM_PAGE_SIZE="10",
        CELERY_BROKER_URL=f"sqla+sqlite:///{broker}",
        OPENPICKER_OUTBOUND_ALLOW="www.filestackapi.com:443",
        OPENPICKER_TEST_HOST=f"www.filestackapi.com=127.0.0.1:{public_file.port}",
        OPENPICKER_TEST_CA=str(public_file.cert),
        PYTHONPATH=os.pathsep.join([str(INTERNET), os.environ.get("PYTHONPATH", "")]),
    )
    with django_db_blocker.unblock():
        server = OpenPickerServer(env)
    worker = CeleryWorker({**env, "OPENPICKER_BASE_URL": server.url}, queues="conversions")
    server.worker = worker
    yield server
    worker.stop()
    server.stop()


@pytest.fixture(scope="session")
def integrator():
    """The integrator's site: a second origin, where the seeds' sample code runs."""
    site = Site()
    yield site
    site.stop()


@pytest.fixture(scope="session")
def stranger():
    """A third origin, which the apps under test do not allow."""
    site = Site()
    yield site
    site.stop()


@pytest.fixture
def shoot(request):
    """page.screenshot into $OPENPICKER_SCREENSHOTS (docs/ when making the README's pictures)."""
    folder = os.environ.get("OPENPICKER_SCREENSHOTS")

    def take(target, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            target.screenshot(path=str(Path(folder) / f"{name}.png"))

    return take


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, show what each frame of the page said (the dialog's errors)."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page")
    if report.when != "call" or not report.failed or page is None:
        return
    try:
        texts = [
            f"--- {frame.url}\n{frame.locator('body').inner_text(timeout=2000)}"
            for frame in page.frames
        ]
    except Exception as exc:  # noqa: BLE001 - a report aid; the failure itself is already known
        texts = [f"(could not read the page: {exc})"]
    report.sections.append(("browser frames", "\n".join(texts)))

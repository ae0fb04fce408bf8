"""Provider test fixtures: OpenPicker with the fake providers mounted, over real HTTP."""

from urllib.parse import urlsplit

import pytest

from tests.conftest import server_env
from tests.servers import CeleryWorker, OpenPickerServer

PAGE_SIZE = 10
MEDIA_TTL = 3  # seconds a sandbox Instagram media_url works
INSTAGRAM_CLIENT_ID = "990000000000001"  # the sandbox's fixed app


@pytest.fixture(scope="session")
def sandbox_api(django_db_setup, django_db_blocker, tmp_path_factory):
    """OpenPicker under gunicorn with OPENPICKER_SANDBOX=1, on the test database.

    Folder pages of 10 photos, so the sandbox's 36 photos and 12-photo albums span pages. Its
    Celery broker is its own, so only a worker started for it (with the sandbox's settings) runs
    its tasks, never another test's worker (`sandbox_api.env["CELERY_BROKER_URL"]`).
    """
    broker = tmp_path_factory.mktemp("sandbox-broker") / "broker.sqlite3"
    with django_db_blocker.unblock():
        server = OpenPickerServer(
            server_env(
                OPENPICKER_SANDBOX="1",
                OPENPICKER_FLICKR_PAGE_SIZE=str(PAGE_SIZE),
                OPENPICKER_INSTAGRAM_PAGE_SIZE=str(PAGE_SIZE),
                OPENPICKER_SANDBOX_INSTAGRAM_MEDIA_TTL=str(MEDIA_TTL),
                CELERY_BROKER_URL=f"sqla+sqlite:///{broker}",
            )
        )
    yield server
    server.stop()


@pytest.fixture
def worker(sandbox_api):
    """A conversions worker with the sandbox server's settings and broker (renditions beyond the
    server's free slots, and stale ones, run here)."""
    worker = CeleryWorker(
        server_env(
            OPENPICKER_SANDBOX="1",
            OPENPICKER_BASE_URL=sandbox_api.url,
            CELERY_BROKER_URL=sandbox_api.env["CELERY_BROKER_URL"],
        ),
        queues="conversions",
    )
    yield worker
    worker.stop()


@pytest.fixture
def flickr_sandbox(sandbox_api, settings):
    """Point this process's Flickr settings at the sandbox server's fake Flickr (and let the
    outbound guard reach its host, as OPENPICKER_SANDBOX=1 does)."""
    base = f"{sandbox_api.url}/sandbox/flickr"
    settings.OPENPICKER_OUTBOUND_ALLOW = [urlsplit(sandbox_api.url).netloc]
    settings.OPENPICKER_FLICKR_KEY = "5a9d0e6b2f3c4d1e8f7a6b5c4d3e2f1a"
    settings.OPENPICKER_FLICKR_SECRET = "0f1e2d3c4b5a6978"  # noqa: S105 - the sandbox's fixed key
    settings.OPENPICKER_FLICKR_WWW_BASE = base
    settings.OPENPICKER_FLICKR_API_BASE = base
    settings.OPENPICKER_FLICKR_UPLOAD_BASE = f"{base}/up"
    return base


@pytest.fixture
def instagram_sandbox(sandbox_api, settings):
    """Point this process's Instagram settings at the sandbox server's fake Instagram."""
    base = f"{sandbox_api.url}/sandbox/instagram"
    settings.OPENPICKER_OUTBOUND_ALLOW = [urlsplit(sandbox_api.url).netloc]
    settings.OPENPICKER_INSTAGRAM_CLIENT_ID = INSTAGRAM_CLIENT_ID
    settings.OPENPICKER_INSTAGRAM_CLIENT_SECRET = "5f4e3d2c1b0a99887766554433221100"  # noqa: S105
    settings.OPENPICKER_INSTAGRAM_AUTHORIZE_BASE = base
    settings.OPENPICKER_INSTAGRAM_API_BASE = base
    settings.OPENPICKER_INSTAGRAM_GRAPH_BASE = f"{base}/graph"
    settings.OPENPICKER_SANDBOX_INSTAGRAM_BASE = base  # the one base plain HTTP may reach
    settings.OPENPICKER_INSTAGRAM_ALLOW_HTTP = True
    settings.OPENPICKER_INSTAGRAM_PAGE_SIZE = PAGE_SIZE
    return base


@pytest.fixture
def instagram_budget(db):
    """The sandbox account's hourly Instagram call budget, from zero (in Redis it outlives the
    test database); its key for providers.limits."""
    from providers import limits
    from providers.instagram.client import budget_key
    from providers.sandbox.instagram import catalogue

    key = budget_key(INSTAGRAM_CLIENT_ID, catalogue.USER["user_id"])
    limits.forget("instagram", key)
    yield key
    limits.forget("instagram", key)

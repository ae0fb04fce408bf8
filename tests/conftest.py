"""Test set-up: fixtures for apps, S3 and OpenPicker server processes.

`make test` runs the suite twice: OPENPICKER_TEST_PROFILE=services (PostgreSQL, Redis, S3 over
HTTP) and =embedded (SQLite, filesystem). A service the profile needs and cannot reach is an
error, never a skip.
"""

from __future__ import annotations

import atexit
import os
import socket
from urllib.parse import urlencode

import pytest

from tests import s3_profile
from tests.servers import MotoS3, OpenPickerServer

PROFILE = os.environ.get("OPENPICKER_TEST_PROFILE", "embedded")

# Browser fixtures (`browser`, `page`): Debian's Chromium through Playwright. The log scan:
# every server and worker log of the run, checked for credentials at the end (tests/logscan.py).
pytest_plugins = ["tests.browser", "tests.logscan"]


def _require(host: str, port: int, what: str) -> None:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        raise pytest.UsageError(
            f"{what} is not reachable at {host}:{port} ({exc}); .ci/run starts it"
        ) from None


def pytest_configure(config):
    if PROFILE == "services":
        _require("127.0.0.1", 5432, "PostgreSQL")
        _require("127.0.0.1", 6379, "Redis")


def pytest_report_header(config):
    from django.conf import settings

    return (
        f"openpicker profile: {PROFILE} (database {settings.DATABASES['default']['ENGINE']}, "
        f"storage {settings.OPENPICKER_STORAGE}, cache {settings.CACHES['default']['BACKEND']}, "
        f"broker {settings.CELERY_BROKER_URL.split(':', 1)[0]})"
    )


@pytest.fixture
def moto() -> MotoS3:
    """The S3 server; in the embedded profile one is started for the tests that need S3."""
    if s3_profile.MOTO is None:
        s3_profile.MOTO = MotoS3()
        atexit.register(s3_profile.MOTO.stop)
    return s3_profile.MOTO


@pytest.fixture
def make_app(db):
    """Create an App (optionally requiring policies)."""
    from picker.models import App

    def make(name: str = "app", **fields) -> App:
        return App.objects.create(name=name, **fields)

    return make


@pytest.fixture
def app(make_app):
    return make_app("main")


@pytest.fixture
def other_app(make_app):
    return make_app("other")


def database_url() -> str:
    """The test database as a URL, for server processes that must see the tests' rows."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{settings_dict['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url(), **extra}


@pytest.fixture(scope="session")
def live_api(django_db_setup, django_db_blocker):
    """OpenPicker over plain HTTP in a gunicorn process, on the test database."""
    with django_db_blocker.unblock():
        server = OpenPickerServer(server_env())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_api(django_db_setup, django_db_blocker):
    """OpenPicker over HTTPS (self-signed, 127.0.0.1) for the filestack SDK, which needs https."""
    with django_db_blocker.unblock():
        server = OpenPickerServer(server_env(), tls=True)
    yield server
    server.stop()


def all_stored_keys() -> set[str]:
    """Every object in the instance storage (S3 bucket or data-dir folder)."""
    from django.core.files.storage import storages
    from storages.backends.s3 import S3Storage

    storage = storages["default"]
    if isinstance(storage, S3Storage):
        return {obj.key for obj in storage.bucket.objects.all()}
    root = storage.location
    keys = set()
    for folder, _, names in os.walk(root):
        keys |= {os.path.relpath(os.path.join(folder, name), root) for name in names}
    return keys


@pytest.fixture
def stored_keys():
    """A callable listing the instance storage's objects (to prove nothing was left behind)."""
    return all_stored_keys


@pytest.fixture
def store(client):
    """POST raw bytes to /api/store/S3 and return the response."""

    def post(app, data: bytes = b"hello", content_type="application/octet-stream", **query):
        query.setdefault("key", app.apikey)
        return client.post(
            f"/api/store/S3?{urlencode(query)}", data=data, content_type=content_type
        )

    return post


def body(response) -> bytes:
    """The whole body of a (possibly streaming) response."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content

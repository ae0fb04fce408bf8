"""`/healthz` and `/readyz`: a real gunicorn process whose database (on PostgreSQL), cache,
broker (Redis) and storage (moto's S3) sit behind TCP proxies the test cuts and restores."""

from __future__ import annotations

import os
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.conftest import PROFILE, database_url
from tests.proxy import TcpProxy
from tests.servers import OpenPickerServer

BUCKET = "readyz-test"


def redis_db(url: str | None, default: int) -> int:
    if url and url.startswith("redis://") and urlsplit(url).path.strip("/"):
        return int(urlsplit(url).path.strip("/"))
    return default


def through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    netloc = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def proxied(transactional_db, moto):
    """A server whose every cuttable dependency goes through its own proxy."""
    moto.create_bucket(BUCKET)
    proxies = {
        "cache": TcpProxy(6379),
        "broker": TcpProxy(6379),
        "storage": TcpProxy(urlsplit(moto.url).port),
    }
    env = {
        "DATABASE_URL": database_url(),
        "CACHE_URL": through(
            f"redis://127.0.0.1:6379/{redis_db(os.environ.get('CACHE_URL'), 7)}",
            proxies["cache"],
        ),
        "CELERY_BROKER_URL": through(
            f"redis://127.0.0.1:6379/{redis_db(os.environ.get('CELERY_BROKER_URL'), 8)}",
            proxies["broker"],
        ),
        "OPENPICKER_STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": through(moto.url, proxies["storage"]),
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    if PROFILE == "services":  # PostgreSQL can go away; SQLite is a file in the process
        proxies["database"] = TcpProxy(urlsplit(env["DATABASE_URL"]).port or 5432)
        env["DATABASE_URL"] = through(env["DATABASE_URL"], proxies["database"])
    server = OpenPickerServer(env)
    server.proxies = proxies
    yield server
    server.stop()
    for proxy in proxies.values():
        proxy.close()


def get(server, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=10)


def wait_for_status(server, status: int, timeout: float) -> tuple[float, requests.Response]:
    started = time.monotonic()
    while True:
        response = get(server, "/readyz")
        elapsed = time.monotonic() - started
        if response.status_code == status or elapsed > timeout:
            return elapsed, response
        time.sleep(0.05)


def test_readyz_names_what_went_away_within_a_second_and_recovers(proxied):
    elapsed, response = wait_for_status(proxied, 200, 60)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == dict.fromkeys(
        ["database", "cache", "broker", "storage"], "ok"
    )
    expected = {"cache", "broker", "storage"} | ({"database"} if PROFILE == "services" else set())
    assert set(proxied.proxies) == expected
    for name, proxy in proxied.proxies.items():
        proxy.cut()
        elapsed, response = wait_for_status(proxied, 503, 5)
        assert response.status_code == 503, (name, response.text)
        assert elapsed < 1.0, (name, elapsed)
        body = response.json()
        assert body["error"] == "not_ready" and name in body["detail"], body
        assert body["checks"][name] != "ok"
        assert [other for other, outcome in body["checks"].items() if outcome != "ok"] == [name]
        # The process itself is up meanwhile.
        assert get(proxied, "/healthz").json() == {"status": "ok"}
        proxy.restore()
        back, response = wait_for_status(proxied, 200, 10)
        assert response.status_code == 200, (name, response.text)
        print(f"{name}: 503 after {elapsed:.3f} s, 200 again after {back:.3f} s")


def test_readyz_and_healthz_say_nothing_secret(proxied):
    response = get(proxied, "/readyz")
    text = response.text + get(proxied, "/healthz").text
    for secret in ("testing", "redis://", "postgres", str(proxied.proxies["cache"].port)):
        assert secret not in text


def test_probes_answer_any_host_and_only_get(client, db):
    # A load balancer calls a node by its address, not by a Host the API answers to.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    refused = client.post("/healthz")
    assert refused.status_code == 405 and refused.json()["error"] == "method_not_allowed"


def test_cache_check_is_not_failed_by_a_connection_the_cache_dropped_while_it_was_away(settings):
    """A thread that checked the cache before it went away checks it again after it came back: a
    pooled connection the server reset meanwhile must not fail that check."""
    from django.core.cache import caches

    from openpicker.environment import cache_config
    from openpicker.health import check_cache

    proxy = TcpProxy(6379)
    try:
        db = redis_db(os.environ.get("CACHE_URL"), 7)
        settings.CACHES = {"default": cache_config(f"redis://127.0.0.1:{proxy.port}/{db}")}
        check_cache()  # this thread's connections, if the check kept any, are now open
        caches["default"].set("openpicker:test:after-restart", "0", timeout=5)  # and the app's
        proxy.cut()  # ... and now reset; another thread sees the cache gone meanwhile
        failed = []

        def check_elsewhere():
            try:
                check_cache()
            except Exception as exc:  # noqa: BLE001 - any failure of the client is right
                failed.append(exc)

        elsewhere = threading.Thread(target=check_elsewhere)
        elsewhere.start()
        elsewhere.join()
        assert failed
        proxy.restore()
        check_cache()
        # The application's own cache, pooled per thread, gets past the reset connection too.
        caches["default"].set("openpicker:test:after-restart", "1", timeout=5)
        assert caches["default"].get("openpicker:test:after-restart") == "1"
    finally:
        proxy.close()

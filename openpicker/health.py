"""Health and readiness: `GET /healthz` (the process answers) and `GET /readyz` (what it needs
is reachable: database with every migration applied, cache, broker, storage).

Each readiness check runs in a thread of its own with a deadline (OPENPICKER_READY_TIMEOUT), so
one dependency that hangs cannot hold the answer; every check opens a fresh connection (the
cache's pooled one is retried on a fresh one when it was reset), so a dependency that went
away is seen at once and one that came back too. A failure is named by its check and the
exception's class only: exception messages can carry URLs with credentials.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.http import JsonResponse

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")
_migrated = threading.Event()  # once every migration is applied, it stays so in this process


def check_database() -> None:
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrated.is_set():
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                raise MigrationsPending
            _migrated.set()
    finally:
        connection.close()  # this thread's connection: a fresh one next time


class MigrationsPending(Exception):
    """The database answers but some migration is not applied yet."""


def check_cache() -> None:
    from django.core.cache import caches

    # This thread's pooled connection: one the server reset while the cache was away is
    # retried once on a fresh connection (the Redis cache's options, openpicker.environment).
    cache = caches["default"]
    key = f"openpicker:readyz:{os.getpid()}:{threading.get_ident()}"
    value = str(time.monotonic())
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise CacheMiss


class CacheMiss(Exception):
    """The cache took a value and did not give it back."""


def check_broker() -> None:
    from openpicker.celery import app

    timeout = settings.OPENPICKER_READY_TIMEOUT
    with app.connection_for_write(connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        channel = connection.default_channel
        client = getattr(channel, "client", None)
        if client is not None and hasattr(client, "ping"):  # Redis: a round trip, not a socket
            client.ping()


_s3_client = None
_s3_lock = threading.Lock()


def _s3_health_client(storage):
    """A client of the instance bucket's endpoint with short timeouts and no retries."""
    global _s3_client
    with _s3_lock:
        if _s3_client is None:
            import boto3
            from botocore.config import Config

            _s3_client = boto3.session.Session().client(
                "s3",
                aws_access_key_id=storage.access_key,
                aws_secret_access_key=storage.secret_key,
                aws_session_token=storage.security_token,
                region_name=storage.region_name,
                endpoint_url=storage.endpoint_url,
                config=Config(
                    connect_timeout=settings.OPENPICKER_READY_TIMEOUT,
                    read_timeout=settings.OPENPICKER_READY_TIMEOUT,
                    retries={"max_attempts": 1, "mode": "standard"},
                ),
            )
        return _s3_client


def check_storage() -> None:
    from django.core.files.storage import storages

    storage = storages["default"]
    if settings.OPENPICKER_STORAGE == "s3":
        _s3_health_client(storage).head_bucket(Bucket=storage.bucket_name)
        return
    location = storage.location
    if not (os.path.isdir(location) or _make_dirs(location)) or not os.access(location, os.W_OK):
        raise NotWritable


def _make_dirs(location: str) -> bool:
    os.makedirs(location, exist_ok=True)
    return True


class NotWritable(Exception):
    """The storage folder is missing or cannot be written."""


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
}


def readiness() -> dict[str, str]:
    """Every check's outcome: "ok", or the exception's class name (or "timeout")."""
    futures = {name: _executor.submit(check) for name, check in CHECKS.items()}
    deadline = time.monotonic() + settings.OPENPICKER_READY_TIMEOUT
    results = {}
    for name, future in futures.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            results[name] = "ok"
        except FutureTimeout:
            results[name] = "timeout"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; named, not raised
            results[name] = type(exc).__name__
    return results


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    checks = readiness()
    failed = [name for name, outcome in checks.items() if outcome != "ok"]
    if failed:
        return JsonResponse(
            {
                "error": "not_ready",
                "detail": f"unreachable or not ready: {', '.join(failed)}",
                "checks": checks,
            },
            status=503,
        )
    return JsonResponse({"status": "ready", "checks": checks})

"""Prometheus metrics (prometheus-client), correct across processes.

Counters and histograms live in prometheus_client's multiprocess mode: every process (gunicorn
workers, Celery workers, beat) writes its own files under OPENPICKER_METRICS_DIR (settings set
PROMETHEUS_MULTIPROC_DIR from it before this module is imported), and `GET /metrics` on any web
worker adds them up for the node. Figures that describe the whole deployment (the oldest due
webhook delivery, the Flickr budget spent this hour) are read from the database or the cache at
scrape time, so every node reports the same value for them: aggregate them with max(), not sum().

`GET /metrics` answers only when OPENPICKER_METRICS_TOKEN is set and the request carries
`Authorization: Bearer <token>`; anything else is the same 404 as an unknown path.
"""

from __future__ import annotations

import hmac
import os
import time

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR") or values.ValueClass is values.MutexValue:
    raise RuntimeError("openpicker.metrics needs PROMETHEUS_MULTIPROC_DIR (set by the settings)")

REQUEST_SECONDS = Histogram(
    "openpicker_http_request_duration_seconds",
    "Time to answer a request (until the response object exists), by route and status.",
    ["route", "method", "status"],
)
STORES = Counter("openpicker_stores", "Files stored (uploads, URL stores, conversions stored).")
STORED_BYTES = Counter("openpicker_stored_bytes", "Bytes of the files stored.")
CONVERSIONS = Counter(
    "openpicker_conversions",
    "Conversion jobs run, by result (ready, failed, gone, error) and where (web: computed by the"
    " request in the web process; worker: on the conversions queue).",
    ["result", "where"],
)
CONVERSION_SECONDS = Histogram(
    "openpicker_conversion_duration_seconds",
    "Time spent on one conversion job (decode, convert, encode, store).",
    ["where"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TASK_QUEUE_WAIT = Histogram(
    "openpicker_task_queue_wait_seconds",
    "Time from a task's publication to a worker starting it, by queue.",
    ["queue"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
TASKS = Counter("openpicker_tasks", "Celery tasks run, by task name and state.", ["task", "state"])
WEBHOOK_ATTEMPTS = Counter(
    "openpicker_webhook_attempts",
    "Webhook delivery attempts, by result (delivered: a 2xx reply; failed: anything else).",
    ["result", "trigger"],
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)


def observe_task(name: str, state: str, seconds: float, wait: float | None, args) -> None:
    TASKS.labels(name, state).inc()
    queue = settings.CELERY_TASK_ROUTES.get(f"{name.split('.', 1)[0]}.*", {}).get("queue", "celery")
    if wait is not None:
        TASK_QUEUE_WAIT.labels(queue).observe(wait)


def on_rendition_computed(result: str, seconds: float, where: str, **kwargs) -> None:
    """conversions.renditions.computed receiver: every conversion job, in a worker or a web
    process (a duplicate delivery that did not start the job is not counted)."""
    CONVERSIONS.labels(result, where).inc()
    CONVERSION_SECONDS.labels(where).observe(seconds)


def on_file_event(event, **kwargs) -> None:
    """picker.events.file_event receiver: count stored uploads (after their commit)."""
    link = getattr(event, "link", None)
    if getattr(event, "action", None) == "fp.upload" and getattr(event, "stored", False):
        STORES.inc()
        STORED_BYTES.inc(link.size or 0)


def on_attempt_recorded(sender, attempt, **kwargs) -> None:
    """webhooks.delivery.attempt_recorded receiver: count each attempt by its result."""
    WEBHOOK_ATTEMPTS.labels("delivered" if attempt.succeeded else "failed", attempt.trigger).inc()


class DeploymentCollector:
    """Gauges read at scrape time from the shared database and cache."""

    def collect(self):
        from django.db.models import Min
        from django.utils import timezone

        from webhooks.models import Delivery

        now = timezone.now()
        oldest = Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now
        ).aggregate(at=Min("next_attempt_at"))["at"]
        due = GaugeMetricFamily(
            "openpicker_webhook_oldest_due_seconds",
            "Age of the oldest webhook delivery whose attempt is due (0: none is due).",
        )
        due.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield due

        used = GaugeMetricFamily(
            "openpicker_flickr_calls_this_hour",
            "Flickr API calls spent in the current hour window, by API key (its digest's start).",
            labels=["key"],
        )
        for digest, count in flickr_budget_used().items():
            used.add_metric([digest[:12]], count)
        yield used
        limit = GaugeMetricFamily(
            "openpicker_flickr_calls_per_hour_limit", "The hourly Flickr budget per API key."
        )
        limit.add_metric([], settings.OPENPICKER_FLICKR_CALLS_PER_HOUR)
        yield limit


def flickr_budget_used() -> dict[str, int]:
    """Calls spent this hour per Flickr key digest, from where providers.limits counts them."""
    from django.core.cache import cache

    from providers import limits
    from providers.models import CallBudget

    window = int(time.time() // limits.WINDOW)
    if limits._uses_redis():
        client = cache._cache.get_client(write=False)
        pattern = f"*{limits.redis_name('*', window)}"
        out = {}
        for name in client.scan_iter(match=pattern, count=500):
            digest = name.decode().rsplit(":", 2)[-2]
            out[digest] = int(client.get(name) or 0)
        return out
    return dict(CallBudget.objects.filter(window=window).values_list("key_digest", "count"))


def connect() -> None:
    """Hook the counters to the apps' signals (from OpenpickerConfig.ready)."""
    from conversions.renditions import computed
    from picker import events
    from webhooks.delivery import attempt_recorded

    events.file_event.connect(on_file_event, dispatch_uid="openpicker.metrics.stores")
    computed.connect(on_rendition_computed, dispatch_uid="openpicker.metrics.conversions")
    attempt_recorded.connect(on_attempt_recorded, dispatch_uid="openpicker.metrics.attempts")


def authorized(request) -> bool:
    token = settings.OPENPICKER_METRICS_TOKEN
    if not token:
        return False
    given = request.META.get("HTTP_AUTHORIZATION", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def exposition() -> bytes:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(DeploymentCollector())
    return generate_latest(registry)


def metrics_view(request) -> HttpResponse:
    if not authorized(request):
        from picker.http.errors import page_not_found

        return page_not_found(request, None)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)

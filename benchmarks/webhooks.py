"""Webhook delivery throughput and latency against a bare Celery task that only POSTs.

    .venv/bin/python benchmarks/webhooks.py [--events 500]

Needs PostgreSQL and Redis (the services profile's): a database of its own is created and
dropped; the broker is BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), flushed first.
One Celery worker (solo pool) consumes both the `webhooks` queue and the anchor's; one fast
local receiver answers 200. Printed: deliveries per second of the service (events published
one transaction each, signed, posted through the outbound guard, recorded) and of the anchor
(`bench.post`: the same body POSTed with urllib3, nothing else), their ratio, and p50/p99 from
an event's timestamp to its first attempt's start, events paced at --interval.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    from celery import shared_task
except ImportError:  # pragma: no cover
    shared_task = None


if shared_task is not None:

    @shared_task(name="bench.post", ignore_result=True)
    def bench_post(url: str, body: str) -> None:
        """The anchor: POST the body, nothing else (no database, no signature, no guard)."""
        import urllib3

        urllib3.request(
            "POST", url, body=body.encode(), headers={"Content-Type": "application/json"}
        )


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--paced", type=int, default=100, help="events for the latency phase")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between them")
    args = parser.parse_args()
    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    broker = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    name = f"openpicker_bench_webhooks_{os.getpid()}"
    data_dir = tempfile.mkdtemp(prefix="bench-webhooks-")
    for key in [k for k in os.environ if k.startswith(("OPENPICKER_", "CACHE_URL", "AWS_"))]:
        del os.environ[key]
    os.environ.update(
        DATABASE_URL=f"{pg}/{name}",
        CELERY_BROKER_URL=broker,
        OPENPICKER_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="openpicker.settings",
    )
    import psycopg
    import redis

    redis.Redis.from_url(broker).flushdb()
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    worker = None
    try:
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
        import django

        django.setup()
        from tests.webhooks.conftest import Receiver

        receiver = Receiver().start()
        os.environ["OPENPICKER_OUTBOUND_ALLOW"] = f"127.0.0.1:{receiver.port}"
        from picker import events
        from picker.models import App
        from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint

        app = App.objects.create(name="bench")
        WebhookEndpoint.objects.create(app=app, url=receiver.url, actions=["all"])
        log = open(Path(data_dir) / "worker.log", "wb")  # noqa: SIM115
        worker = subprocess.Popen(
            [python, "-m", "celery", "-A", "openpicker", "worker", "--pool", "solo",
             "--queues", "webhooks,celery", "--include", "benchmarks.webhooks",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        # Warm up both paths (worker start, imports, connections).
        events.publish(events.DialogOpen(app=app, origin="https://warm.example"))
        wait_until(lambda: len(receiver.received) == 1, 60, "the worker to start")
        body = receiver.received[0].body.decode()
        bench_post.delay(receiver.url, body)
        wait_until(lambda: len(receiver.received) == 2, 60, "the anchor warm-up")

        n = args.events
        receiver.received.clear()
        started = time.monotonic()
        for _ in range(n):
            bench_post.delay(receiver.url, body)
        wait_until(lambda: len(receiver.received) == n, 600, "the anchor's posts")
        anchor = n / (time.monotonic() - started)

        receiver.received.clear()
        Event.objects.all().delete()
        started = time.monotonic()
        for i in range(n):
            events.publish(events.DialogOpen(app=app, origin=f"https://shop{i}.example"))
        published = time.monotonic() - started
        delivered = Delivery.objects.filter(status="delivered")
        wait_until(lambda: delivered.count() == n, 600, "the deliveries")
        service = n / (time.monotonic() - started)
        ids = {got.json["id"] for got in receiver.received}

        # Latency at a rate the worker keeps up with (the burst above measures a backlog).
        Event.objects.all().delete()
        for i in range(args.paced):
            events.publish(events.DialogOpen(app=app, origin=f"https://paced{i}.example"))
            time.sleep(args.interval)
        wait_until(lambda: delivered.count() == args.paced, 600, "the paced deliveries")
        latencies = [
            (a.started_at - a.delivery.event.timestamp).total_seconds() * 1000
            for a in Attempt.objects.select_related("delivery__event").filter(number=1)
        ]
        print(f"events: {n}, distinct ids received: {len(ids)}")
        print(f"anchor (bare Celery task POSTing the body): {anchor:.1f} posts/s")
        print(f"service (event → signed, guarded, recorded delivery): {service:.1f} deliveries/s")
        print(f"  (publishing the {n} events, one transaction each, took {published:.1f} s)")
        print(f"ratio service/anchor: {service / anchor:.2f}")
        print(
            f"event → first attempt, one event every {args.interval:g} s: "
            f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms"
        )
        receiver.stop()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", data_dir], check=False)


if __name__ == "__main__":
    main()

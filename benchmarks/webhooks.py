"""Webhook delivery throughput and latency against a bare Celery task that only POSTs.

    .venv/bin/python benchmarks/webhooks.py [--events 300] [--rounds 3] [--paced 30]

Needs PostgreSQL and Redis (the services profile's): a database of its own is created and
dropped; the broker is BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), flushed first.
One Celery worker (solo pool), one fast local receiver answering 200. The anchor is `bench.post`
(the same body POSTed with urllib3, nothing else); the service is an event's delivery (taken,
signed, posted through the outbound guard, recorded). Printed, for both:

- drain: `--events` tasks (anchor) or deliveries (service) queued while no worker runs, then a
  worker on that one queue; the rate between the first and the last POST the receiver gets.
  Anchor and service in turn, `--rounds` times (a loaded machine's load drifts), summed. What a
  worker delivers per second, the same work queued the same way: the headline ratio.
- end to end: a running worker; the anchor's tasks sent in a tight loop, the service's events
  published one transaction each (as stores make them); the time from the first send to the
  last POST (anchor) or the last delivery recorded (service). Includes publishing the events.
- latency: an event every --interval s; p50/p99 from its timestamp to its first attempt.
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


class Worker:
    """One Celery worker process (solo pool) on the given queues; its output in data_dir."""

    def __init__(self, queues: str, data_dir: str):
        self.log = open(Path(data_dir) / f"worker-{queues}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "openpicker", "worker", "--pool", "solo",
             "--queues", queues, "--include", "benchmarks.webhooks", "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=os.environ.copy(), stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="drain rounds of each in turn")
    parser.add_argument("--paced", type=int, default=30, help="events for the latency phase")
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

    from benchmarks.harness import machine_lines

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
        delivered = Delivery.objects.filter(status="delivered")
        worker = Worker("webhooks,celery", data_dir)
        # Warm up both paths (worker start, imports, connections).
        events.publish(events.DialogOpen(app=app, origin="https://warm.example"))
        wait_until(lambda: len(receiver.received) == 1, 60, "the worker to start")
        body = receiver.received[0].body.decode()
        bench_post.delay(receiver.url, body)
        wait_until(lambda: len(receiver.received) == 2, 60, "the anchor warm-up")
        n = args.events

        # End to end: a running worker, sends and publishes in a loop.
        receiver.received.clear()
        started = time.monotonic()
        for _ in range(n):
            bench_post.delay(receiver.url, body)
        wait_until(lambda: len(receiver.received) == n, 600, "the anchor's posts")
        anchor_e2e = n / (time.monotonic() - started)

        receiver.received.clear()
        Event.objects.all().delete()
        started = time.monotonic()
        for i in range(n):
            events.publish(events.DialogOpen(app=app, origin=f"https://shop{i}.example"))
        published = time.monotonic() - started
        wait_until(lambda: delivered.count() == n, 600, "the deliveries")
        service_e2e = n / (time.monotonic() - started)
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
        worker.stop()
        worker = None

        # Drain: a queue filled while no worker runs, then a worker on that queue alone; the
        # anchor and the service in turn, --rounds times, so both see the same load.
        drained = {"anchor": [0, 0.0], "service": [0, 0.0]}
        ratios = []
        for r in range(args.rounds):
            Event.objects.all().delete()
            rates = {}
            for kind, queue in (("anchor", "celery"), ("service", "webhooks")):
                for i in range(n):
                    if kind == "anchor":
                        bench_post.delay(receiver.url, body)
                    else:
                        events.publish(
                            events.DialogOpen(app=app, origin=f"https://q{r}.{i}.example")
                        )
                receiver.received.clear()
                worker = Worker(queue, data_dir)
                if kind == "anchor":
                    wait_until(lambda: len(receiver.received) == n, 600, "the queued anchor tasks")
                else:
                    wait_until(lambda: delivered.count() == n, 600, "the queued deliveries")
                times = sorted(got.at for got in receiver.received)
                worker.stop()
                worker = None
                drained[kind][0] += len(times) - 1
                drained[kind][1] += times[-1] - times[0]
                rates[kind] = (len(times) - 1) / (times[-1] - times[0])
            ratios.append(rates["service"] / rates["anchor"])
        anchor_drain, service_drain = (count / seconds for count, seconds in drained.values())

        for line in machine_lines():
            print(line)
        print(f"events: {n}, distinct ids received end to end: {len(ids)}")
        print(
            f"drain, {n} queued before the worker starts, {args.rounds} rounds of each in turn "
            "(first to last POST received, summed over the rounds):"
        )
        print(f"  anchor (bare Celery task POSTing the body): {anchor_drain:.1f} posts/s")
        print(f"  service (taken, signed, guarded, recorded): {service_drain:.1f} deliveries/s")
        print(
            f"  ratio service/anchor: {service_drain / anchor_drain:.2f} "
            f"(rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
        )
        print("end to end, a running worker (first send to last POST / last delivery recorded):")
        print(f"  anchor, {n} tasks sent in a loop: {anchor_e2e:.1f} posts/s")
        print(f"  service, {n} events published: {service_e2e:.1f} deliveries/s")
        print(f"    (publishing the events, one transaction each, took {published:.1f} s)")
        print(f"  ratio service/anchor: {service_e2e / anchor_e2e:.2f}")
        print(
            f"event → first attempt, one event every {args.interval:g} s: "
            f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms"
        )
        receiver.stop()
    finally:
        if worker is not None:
            worker.stop()
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", data_dir], check=False)


if __name__ == "__main__":
    main()

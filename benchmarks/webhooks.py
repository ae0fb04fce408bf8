"""Webhook delivery throughput and latency against a bare Celery task that only POSTs.

    .venv/bin/python benchmarks/webhooks.py [--events 200] [--rounds 3] [--paced 30]
        [--pool threads --concurrency 8 | --pool solo]

Needs PostgreSQL and Redis (the services profile's): a database of its own is created and
dropped; the broker is BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), flushed first.
One Celery worker, by default as `serve` runs the webhooks queue (the Procfile's `webhooks`
process: a pool of 8 threads; `--pool solo` for one task at a time), one fast local receiver
answering 200; the anchor's tasks run in the same worker with the same pool. The anchor is
`bench.post` (the same body POSTed with urllib3, nothing else); the service is an event's
delivery (taken, signed, posted through the outbound guard, recorded). Printed, for both:

- drain: `--events` tasks (anchor) or deliveries (service) queued while the worker does not
  consume their queue (Celery's cancel_consumer), then it consumes that one queue; the rate
  between the first and the last POST the receiver gets. Anchor and service in turn, `--rounds`
  times (a loaded machine's load drifts), summed; each round's ratio is printed too. What a
  worker delivers per second, the same work queued the same way: the headline ratio.
- end to end: a running worker; the anchor's tasks sent in a tight loop, the service's events
  published one transaction each (as stores make them); the time from the first send to the
  last POST (anchor) or the last delivery recorded (service). Includes publishing the events.
- latency: an event every --interval s; p50/p99 from its timestamp to its first attempt.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    from celery import shared_task, signals
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

    _received: dict[str, float] = {}

    @signals.task_received.connect
    def _task_received(request=None, **kwargs) -> None:
        _received[request.id] = time.monotonic()

    @signals.task_postrun.connect
    def _task_ended(task_id=None, task=None, **kwargs) -> None:
        """In the worker: each task's name and when its message arrived, to a file."""
        path = os.environ.get("BENCH_TASK_LOG")
        if path and task_id in _received:
            with open(path, "a") as log:
                log.write(f"{task.name} {_received.pop(task_id)}\n")


def per_task_rates(path: Path) -> dict[str, float]:
    """Tasks per second of each name, in an interleaved drain, from the worker's task log.

    Each task is charged the time from its message's arrival to the next one's: its run, its
    acknowledgement, and the broker's delivery of the next message (the same for every task).
    Both kinds of task are so measured over the same seconds, under the same load.
    """
    rows = sorted(
        (float(received), name)
        for name, received in (line.split() for line in path.read_text().splitlines())
    )
    spent: dict[str, list[float]] = {}
    for (received, name), (following, _) in zip(rows, rows[1:], strict=False):
        spent.setdefault(name, []).append(following - received)
    return {name: len(costs) / sum(costs) for name, costs in spent.items()}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


class Worker:
    """One Celery worker process (solo pool) on the given queues; its output in data_dir."""

    name = f"bench@{socket.gethostname()}"

    def __init__(self, queues: str, data_dir: str, pool: str, concurrency: int):
        self.log = open(Path(data_dir) / "worker.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "openpicker", "worker", "--pool", pool,
             "--concurrency", str(concurrency), "--queues", queues, "--hostname", "bench@%h",
             "--include", "benchmarks.webhooks",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=os.environ.copy(), stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def consume(self, queue: str, on: bool) -> None:
        """Start or stop consuming `queue` (Celery's remote control; waits for the reply)."""
        from openpicker.celery import app

        command = app.control.add_consumer if on else app.control.cancel_consumer
        if not command(queue, destination=[self.name], reply=True, timeout=30):
            raise SystemExit(f"the worker did not answer {command.__name__}({queue!r})")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def interleaved(n, worker, receiver, body, app, delivered, task_log) -> dict[str, float]:
    from picker import events
    from webhooks.models import Event

    Event.objects.all().delete()
    for i in range(n):
        bench_post.delay(receiver.url, body)
        events.publish(events.DialogOpen(app=app, origin=f"https://mixed{i}.example"))
    task_log.write_text("")
    receiver.received.clear()
    for queue in ("celery", "webhooks"):
        worker.consume(queue, True)
    wait_until(lambda: len(receiver.received) >= 2 * n, 600, "the interleaved POSTs")
    wait_until(lambda: delivered.count() == n, 600, "the interleaved deliveries")
    return per_task_rates(task_log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="drain rounds of each in turn")
    parser.add_argument("--paced", type=int, default=30, help="events for the latency phase")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between them")
    parser.add_argument("--pool", choices=("threads", "solo"), default="threads")
    parser.add_argument("--concurrency", type=int, default=8, help="threads (serve's 8)")
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
        BENCH_TASK_LOG=str(Path(data_dir) / "tasks.log"),
    )
    task_log = Path(os.environ["BENCH_TASK_LOG"])
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
        concurrency = 1 if args.pool == "solo" else args.concurrency
        worker = Worker("webhooks,celery", data_dir, args.pool, concurrency)
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

        # Drain: a queue filled while the worker does not consume it, then the worker on that
        # queue alone; the anchor and the service in turn, --rounds times (the load drifts).
        for queue in ("webhooks", "celery"):
            worker.consume(queue, False)
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
                worker.consume(queue, True)
                # The receiver's count, not the database's: polling adds no load while timed.
                wait_until(lambda: len(receiver.received) >= n, 600, f"the queued {kind} POSTs")
                if kind == "service":
                    wait_until(lambda: delivered.count() == n, 600, "the deliveries recorded")
                worker.consume(queue, False)
                times = sorted(got.at for got in receiver.received)
                drained[kind][0] += len(times) - 1
                drained[kind][1] += times[-1] - times[0]
                rates[kind] = (len(times) - 1) / (times[-1] - times[0])
            ratios.append(rates["service"] / rates["anchor"])
        anchor_drain, service_drain = (count / seconds for count, seconds in drained.values())

        # Interleaved drain (solo pool only: it charges each task the time to the next one's
        # arrival, which means nothing when tasks overlap): both queues filled, then the worker
        # consumes both (the broker alternates between them); each task timed in the worker.
        mixed = None
        if concurrency == 1:
            mixed = interleaved(n, worker, receiver, body, app, delivered, task_log)
        worker.stop()
        worker = None

        for line in machine_lines():
            print(line)
        print(f"worker: one, pool {args.pool} x {concurrency}; Redis broker; PostgreSQL")
        print(f"events: {n}, distinct ids received end to end: {len(ids)}")
        print(
            f"drain, {n} queued before the worker consumes them, {args.rounds} rounds of each in "
            "turn (first to last POST received, summed over the rounds):"
        )
        print(f"  anchor (bare Celery task POSTing the body): {anchor_drain:.1f} posts/s")
        print(f"  service (taken, signed, guarded, recorded): {service_drain:.1f} deliveries/s")
        print(
            f"  ratio service/anchor: {service_drain / anchor_drain:.2f} "
            f"(rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
        )
        if mixed is not None:
            print(f"drain interleaved, {n} of each queued, the worker consuming both at once:")
            print(f"  anchor: {mixed['bench.post']:.1f} posts/s")
            print(f"  service: {mixed['webhooks.deliver']:.1f} deliveries/s")
            ratio = mixed["webhooks.deliver"] / mixed["bench.post"]
            print(f"  ratio service/anchor: {ratio:.2f}")
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

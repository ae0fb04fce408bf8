"""cProfile of one worker's delivery path in this process: take, send, record.

    .venv/bin/python benchmarks/profile_webhooks.py [--deliveries 300] [--top 30] [--sqlite]

A database of its own (PostgreSQL as benchmarks/webhooks.py, or --sqlite in a temporary data
dir); a local receiver; `--deliveries` events published with their on-commit queueing held back
(the claims kept), then each claim's scheduled attempt made here as the Celery task would
(`webhooks.delivery.attempt_scheduled`), and as many bare urllib3 POSTs of the same body for
scale. Prints ms per delivery and per bare POST, then the functions with the most cumulative
time. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time

from harness import clean_environment, manage


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)
    clean_environment()
    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    name = f"openpicker_profile_webhooks_{os.getpid()}"
    data_dir = tempfile.mkdtemp(prefix="profile-webhooks-")
    env = {"OPENPICKER_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "openpicker.settings"}
    if not args.sqlite:
        env["DATABASE_URL"] = f"{pg}/{name}"
        import psycopg

        with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(env)
    try:
        manage(env, "migrate", "-v0")
        import django

        django.setup()
        import urllib3

        from picker import events
        from picker.models import App
        from tests.webhooks.conftest import Receiver
        from webhooks import delivery
        from webhooks.models import Delivery, WebhookEndpoint

        receiver = Receiver().start()
        from django.conf import settings

        settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{receiver.port}"]
        claims: list = []
        delivery.enqueue = lambda batch, at=None: claims.extend(batch)
        app = App.objects.create(name="profile")
        WebhookEndpoint.objects.create(app=app, url=receiver.url, actions=["all"])
        for i in range(args.deliveries + 1):
            events.publish(events.DialogOpen(app=app, origin=f"https://shop{i}.example"))
        phases = {"take": 0.0, "send": 0.0, "record": 0.0}

        def timed(name, function):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    phases[name] += time.perf_counter() - started

            return wrapper

        delivery.statements.take = timed("take", delivery.statements.take)
        delivery.send = timed("send", delivery.send)
        delivery.statements.record = timed("record", delivery.statements.record)
        first, *claims = claims
        delivery.attempt_scheduled(*first)  # warm: connections, caches
        phases.update(dict.fromkeys(phases, 0.0))
        body = receiver.received[0].body
        profiler = cProfile.Profile()
        started = time.perf_counter()
        if not args.no_profile:
            profiler.enable()
        for delivery_id, token in claims:
            delivery.attempt_scheduled(delivery_id, token)
        profiler.disable()
        service = (time.perf_counter() - started) / len(claims) * 1000
        assert Delivery.objects.filter(status="delivered").count() == len(claims) + 1
        pool = urllib3.PoolManager()
        started = time.perf_counter()
        for _ in claims:
            pool.request(
                "POST", receiver.url, body=body, headers={"Content-Type": "application/json"}
            )
        bare = (time.perf_counter() - started) / len(claims) * 1000
        receiver.stop()
        print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL'}, load {os.getloadavg()}")
        how = "" if args.no_profile else " under cProfile"
        print(f"per delivery (take, send, record){how}: {service:.2f} ms")
        print(
            "  of which "
            + ", ".join(f"{k} {v / len(claims) * 1000:.2f} ms" for k, v in phases.items())
        )
        print(f"per bare urllib3 POST of the body: {bare:.2f} ms")
        if not args.no_profile:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
    finally:
        from django.db import connections

        connections.close_all()
        if not args.sqlite:
            import psycopg

            with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

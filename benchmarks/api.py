"""Speed of OpenPicker's request path, as `manage.py serve` runs it, against a bare DRF view.

Run from the repository root:

    .venv/bin/python benchmarks/api.py             # embedded defaults (SQLite, files, broker)
    .venv/bin/python benchmarks/api.py --services  # PostgreSQL + Redis + S3 (moto's server)

In one run, in a fresh temporary data dir: `manage.py serve` (its default settings: gunicorn,
the Celery workers and beat) on a settings module that only adds `/bench/bare`, a DRF JSON view
that touches neither the database nor storage (benchmarks/api_settings.py, api_urls.py). Every
row is measured with wrk (16 connections) and reported as a ratio to that bare view, measured
in the same round. Rows: metadata (default set), a 2 KiB read, a 1 MiB read, a cached rendition;
then uncached renditions of a 12 MP JPEG (distinct specs, so none is cached) sequentially, next
to the engine alone on the same image in this process, and with 8 concurrent clients; then
metadata while 8 clients keep asking for uncached renditions. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from harness import ROOT, BenchError, clean_environment, machine_lines, manage, stop_children
from PIL import Image

from tests.servers import MotoS3, free_port, log_tail

WIDTH, HEIGHT = 4032, 3024
BUCKET = "openpicker-bench"
SETTINGS = "benchmarks.api_settings"
# The gates (issue 7): ratios to the bare view's req/s and p99 in ms at 16 connections.
GATES = {
    "metadata": (0.8, 50.0),
    "read 2 KiB": (0.7, 50.0),
    "cached rendition": (0.7, 50.0),
}
UNCACHED_P50_MAX = 1.3  # x the engine alone
CONCURRENT_MIN = 0.8  # x cores / engine time
BURST_P99_MAX = 100.0  # ms


# --- wrk ----------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    name: str
    rps: float
    p50: float  # ms
    p99: float  # ms
    requests: int
    errors: str = ""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(name: str, url: str, *, connections: int, seconds: float, threads: int) -> WrkResult:
    """One wrk run; fails on any non-2xx/3xx answer or socket error."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "30s",
        url,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    out = completed.stdout
    if completed.returncode:
        raise BenchError(f"wrk failed on {url}: {completed.stderr or out}")
    if "Requests/sec" not in out or not re.search(r"^\s+99%", out, re.MULTILINE):
        raise BenchError(f"wrk on {url} gave no figures:\n{out}{completed.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    count = int(re.search(r"(\d+) requests in", out).group(1))
    latency = dict(re.findall(r"^\s*(50|99)%\s+([0-9.]+(?:us|ms|s|m))\s*$", out, re.MULTILINE))
    if set(latency) != {"50", "99"}:
        raise BenchError(f"wrk on {url}: no 50 %/99 % latency in\n{out}")
    errors = []
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors.append(f"{match.group(1)} non-2xx answers")
    if match := re.search(r"Socket errors: (.*)", out):
        errors.append(f"socket errors: {match.group(1)}")
    return WrkResult(name, rps, _ms(latency["50"]), _ms(latency["99"]), count, "; ".join(errors))


# --- Uncached renditions ------------------------------------------------------------------------


class Specs:
    """Distinct rendition specs, so that none is ever cached: fit:clip into width x (height)."""

    def __init__(self):
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> tuple[str, int]:
        """A spec that was never asked for, and the width it gives (height >= 0.75 x width)."""
        with self._lock:
            n = next(self._counter)
        width = 300 + n % 200
        return f"resize=width:{width},height:{1000 + n}", width


def rendition(session: requests.Session, base: str, handle: str, spec: str, deadline: float):
    """GET a rendition until it is there (a 202 is asked again); (seconds, response)."""
    started = time.perf_counter()
    while True:
        if time.monotonic() > deadline:
            raise BenchError(f"time cap reached on {spec}")
        response = session.get(f"{base}/cdn/{spec}/{handle}", timeout=(5, 120))
        if response.status_code != 202:
            break
        time.sleep(float(response.headers.get("Retry-After") or 1))
    seconds = time.perf_counter() - started
    if response.status_code != 200 or response.headers.get("Content-Type") != "image/jpeg":
        raise BenchError(f"{spec} -> {response.status_code}: {response.text[:200]}")
    return seconds, response


def engine_ms(data: bytes) -> float:
    """The engine alone on the photo, in this process: what the worker's render costs."""
    from conversions.engine import render
    from conversions.operations import Output, Resize

    started = time.perf_counter()
    render(io.BytesIO(data), [Resize(width=400, height=400, fit="clip"), Output(format="jpg")])
    return (time.perf_counter() - started) * 1000


@dataclass
class Uncached:
    http_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)
    concurrent_rate: float = 0.0
    concurrent_count: int = 0
    concurrent_clients: int = 0


def uncached_sequential(base, handle, data, specs, runs, deadline, out: Uncached) -> None:
    """HTTP and the engine alone take turns, so a busy neighbour hits both alike."""
    with requests.Session() as session:
        for _ in range(runs):
            spec, width = specs.next()
            seconds, response = rendition(session, base, handle, spec, deadline)
            with Image.open(io.BytesIO(response.content)) as image:
                expected = (width, round(width * HEIGHT / WIDTH))
                if abs(image.size[0] - expected[0]) > 1 or abs(image.size[1] - expected[1]) > 1:
                    raise BenchError(f"{spec} gave {image.size}, not about {expected}")
            out.http_ms.append(seconds * 1000)
            out.engine_ms.append(engine_ms(data))


def rendition_clients(base, handle, specs, clients, stop: threading.Event, deadline, limit=None):
    """`clients` threads asking for distinct uncached renditions until `stop` (or `limit`)."""
    done: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = itertools.count()

    def client():
        with requests.Session() as session:
            while not stop.is_set() and not errors:
                if limit is not None and next(remaining) >= limit:
                    return
                spec, _ = specs.next()
                try:
                    seconds, _ = rendition(session, base, handle, spec, deadline)
                except (BenchError, requests.RequestException) as error:
                    errors.append(str(error))
                    return
                with lock:
                    done.append(seconds)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads, done, errors


# --- The server ---------------------------------------------------------------------------------


class Serve:
    """`manage.py serve` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "serve.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env={**os.environ, **env, "OPENPICKER_BASE_URL": self.url},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"serve exited with {self.process.returncode}")
            try:
                if requests.get(self.url + "/bench/bare", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise BenchError("serve never answered")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def services_env(args, workdir: Path, moto: MotoS3) -> tuple[dict[str, str], str]:
    """PostgreSQL (a database made for this run), Redis and moto's S3."""
    import psycopg

    name = f"openpicker_bench_{os.getpid()}"
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    moto.create_bucket(BUCKET)
    base = args.pg_url.rsplit("/", 1)[0]
    env = {
        "DATABASE_URL": f"{base}/{name}",
        "CACHE_URL": f"{args.redis_url}/{args.redis_cache_db}",
        "CELERY_BROKER_URL": f"{args.redis_url}/{args.redis_broker_db}",
        "OPENPICKER_STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": moto.url,
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    return env, name


def drop_database(args, name: str) -> None:
    import psycopg

    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def hold(serve: Serve, urls: dict[str, str], photo: str) -> None:
    """Keep serve running for profiling by hand (py-spy, wrk) until interrupted."""
    print(json.dumps({"urls": urls, "photo": photo, "base": serve.url}, indent=1))
    print(
        f"serve's pid: {serve.process.pid} (its processes: pstree -p {serve.process.pid})",
        flush=True,
    )
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass


def store(base: str, apikey: str, data: bytes, filename: str, mimetype: str) -> str:
    response = requests.post(
        f"{base}/api/store/S3",
        params={"key": apikey, "filename": filename},
        data=data,
        headers={"Content-Type": mimetype},
        timeout=(5, 120),
    )
    if response.status_code != 200 or response.json()["size"] != len(data):
        raise BenchError(f"store {filename} -> {response.status_code}: {response.text[:300]}")
    return response.json()["handle"]


def check(url: str, size: int | None = None, content_type: str | None = None) -> None:
    response = requests.get(url, timeout=(5, 120))
    if response.status_code != 200:
        raise BenchError(f"GET {url} -> {response.status_code}: {response.text[:300]}")
    if size is not None and len(response.content) != size:
        raise BenchError(f"GET {url}: {len(response.content)} bytes, not {size}")
    if content_type is not None and response.headers.get("Content-Type") != content_type:
        raise BenchError(f"GET {url}: {response.headers.get('Content-Type')}, not {content_type}")


# --- Report -------------------------------------------------------------------------------------


def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, round(pct / 100 * len(ordered) + 0.5) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", action="store_true", help="PostgreSQL + Redis + S3 (moto)")
    parser.add_argument("--seconds", type=float, default=6, help="per wrk run (default 6)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the wrk rows (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--sequential", type=int, default=15, help="sequential uncached (15)")
    parser.add_argument("--concurrent", type=int, default=64, help="concurrent uncached (64)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent rendition clients (8)")
    parser.add_argument(
        "--burst-connections", type=int, default=4, help="wrk connections on metadata (default 4)"
    )
    parser.add_argument("--time-cap", type=float, default=600, help="seconds (default 600)")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--redis-cache-db", type=int, default=1)
    parser.add_argument("--redis-broker-db", type=int, default=2)
    parser.add_argument("--tmpdir", type=Path, default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPENPICKER_NAME=VALUE",
        help="a setting for serve other than its default (repeatable; the figures then are not "
        "the defaults')",
    )
    parser.add_argument("--keep-log", action="store_true", help="print the end of serve's log")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="after the warm-up, print the URLs and serve's pids and wait (to profile by hand)",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    clean_environment()
    workdir = Path(tempfile.mkdtemp(prefix="openpicker-bench-", dir=args.tmpdir))
    data_dir = workdir / "data"
    env = {
        "OPENPICKER_DATA_DIR": str(data_dir),
        "OPENPICKER_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": SETTINGS,
    }
    for setting in args.set:  # after the clean environment: what this run tries instead
        name, equals, value = setting.partition("=")
        if not equals or not name.startswith("OPENPICKER_"):
            raise SystemExit(f"--set takes OPENPICKER_NAME=VALUE, not {setting!r}")
        env[name] = value
    moto = serve = None
    database = None
    failures: list[str] = []
    deadline = time.monotonic() + args.time_cap
    try:
        if args.services:
            moto = MotoS3()
            extra, database = services_env(args, workdir, moto)
            env.update(extra)
            setup = "PostgreSQL, Redis (cache and broker), S3 on moto's server"
        else:
            setup = "embedded defaults: SQLite, filesystem storage, SQLite broker"
        os.environ.update(env)  # the engine, in this process, reads the same settings
        import django

        django.setup()
        print("migrating and creating an app ...", flush=True)
        manage(env, "migrate", "--noinput")
        apikey = json.loads(manage(env, "createapp", "bench").strip().splitlines()[-1])["apikey"]
        serve = Serve(env, workdir)
        serve.wait_ready()
        base = serve.url
        from convert import make_jpeg  # the same 12 MP photo as benchmarks/convert.py

        photo = make_jpeg(2026)
        handles = {
            "small": store(base, apikey, os.urandom(2048), "small.txt", "text/plain"),
            "mib": store(base, apikey, os.urandom(1024**2), "one.bin", "application/octet-stream"),
            "photo": store(base, apikey, photo, "photo.jpg", "image/jpeg"),
        }
        urls = {
            "bare DRF view (anchor)": f"{base}/bench/bare",
            "metadata": f"{base}/api/file/{handles['small']}/metadata",
            "read 2 KiB": f"{base}/api/file/{handles['small']}",
            "read 1 MiB": f"{base}/api/file/{handles['mib']}",
            "cached rendition": f"{base}/cdn/resize=width:400,height:400/{handles['photo']}",
        }
        check(urls["read 2 KiB"], 2048)
        check(urls["read 1 MiB"], 1024**2)
        check(urls["metadata"])
        check(urls["cached rendition"], content_type="image/jpeg")  # computes it once
        print("warming up every worker ...", flush=True)
        specs = Specs()
        stop = threading.Event()
        threads, _, errors = rendition_clients(base, handles["photo"], specs, 4, stop, deadline, 8)
        for thread in threads:
            thread.join()
        if errors:
            raise BenchError(f"warm-up: {errors[0]}")
        for url in urls.values():
            wrk("warm-up", url, connections=args.connections, seconds=1, threads=args.wrk_threads)

        if args.hold:
            hold(serve, urls, handles["photo"])
            return 0
        # The wrk rows: each round measures the anchor first, then every row.
        results: dict[str, list[WrkResult]] = {name: [] for name in urls}
        ratios: dict[str, list[float]] = {name: [] for name in urls}
        for round_ in range(args.rounds):
            print(f"wrk round {round_ + 1}/{args.rounds} ...", flush=True)
            anchor = None
            for name, url in urls.items():
                result = wrk(
                    name,
                    url,
                    connections=args.connections,
                    seconds=args.seconds,
                    threads=args.wrk_threads,
                )
                if result.errors:
                    failures.append(f"{name}: {result.errors}")
                anchor = anchor or result
                results[name].append(result)
                ratios[name].append(result.rps / anchor.rps)

        print(f"uncached, sequential: {args.sequential} renditions ...", flush=True)
        uncached = Uncached()
        uncached_sequential(
            base, handles["photo"], photo, specs, args.sequential, deadline, uncached
        )
        print(f"uncached, {args.clients} clients: {args.concurrent} renditions ...", flush=True)
        started = time.perf_counter()
        threads, done, errors = rendition_clients(
            base, handles["photo"], specs, args.clients, threading.Event(), deadline,
            args.concurrent,
        )  # fmt: skip
        for thread in threads:
            thread.join()
        if errors:
            raise BenchError(f"concurrent renditions: {errors[0]}")
        uncached.concurrent_count = len(done)
        uncached.concurrent_rate = len(done) / (time.perf_counter() - started)
        uncached.concurrent_clients = args.clients

        print(f"metadata during a burst of renditions ({args.clients} clients) ...", flush=True)
        stop = threading.Event()
        threads, done, errors = rendition_clients(
            base, handles["photo"], specs, args.clients, stop, deadline
        )
        time.sleep(1.0)
        before = len(done)
        started = time.perf_counter()
        burst = wrk(
            "metadata during renditions",
            urls["metadata"],
            connections=args.burst_connections,
            seconds=args.seconds,
            threads=1,
        )
        burst_rate = (len(done) - before) / (time.perf_counter() - started)
        stop.set()
        for thread in threads:
            thread.join(130)
        if errors:
            raise BenchError(f"renditions during the burst: {errors[0]}")
        if burst.errors:
            failures.append(f"metadata during renditions: {burst.errors}")
        if args.keep_log:
            print(log_tail(serve.log_path, "serve log"))
    except (BenchError, requests.RequestException, OSError, KeyError) as error:
        print(f"\nFAIL: {error!r}", file=sys.stderr)
        if serve is not None:
            print(log_tail(serve.log_path, "serve log"), file=sys.stderr)
        return 1
    finally:
        if serve is not None:
            serve.stop()
        if moto is not None:
            moto.stop()
        if database is not None:
            drop_database(args, database)
        stop_children()
        shutil.rmtree(workdir, ignore_errors=True)

    # The report.
    print()
    print("\n".join(machine_lines()))
    print(f"setup:   manage.py serve defaults; {setup}")
    print(
        f"wrk:     {args.connections} connections, {args.wrk_threads} threads, "
        f"{args.seconds:g} s per row, {args.rounds} round(s); figures are medians over rounds; "
        "ratio = req/s / the bare view's req/s in the same round"
    )
    print()
    print(f"{'row':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}  gate")
    ok = not failures
    for name, runs in results.items():
        rps = median([r.rps for r in runs])
        p50 = median([r.p50 for r in runs])
        p99 = median([r.p99 for r in runs])
        ratio = median(ratios[name])
        gate = ""
        if name in GATES:
            min_ratio, max_p99 = GATES[name]
            passed = ratio >= min_ratio and p99 < max_p99
            ok &= passed
            gate = f"{'PASS' if passed else 'FAIL'} (>= {min_ratio}x, p99 < {max_p99:g} ms)"
        print(f"{name:<34}{rps:>9,.0f}{p50:>9.1f}{p99:>9.1f}{ratio:>8.2f}x  {gate}")
    anchor_rps = median([r.rps for r in results["bare DRF view (anchor)"]])

    engine = median(uncached.engine_ms)
    http50 = median(uncached.http_ms)
    print()
    print(f"engine alone, this process (12 MP JPEG -> 400x300): median {engine:.1f} ms")
    passed = http50 <= UNCACHED_P50_MAX * engine
    ok &= passed
    print(
        f"uncached rendition, sequential ({len(uncached.http_ms)}): p50 {http50:.1f} ms, "
        f"p99 {percentile(uncached.http_ms, 99):.1f} ms = {http50 / engine:.2f}x the engine  "
        f"{'PASS' if passed else 'FAIL'} (<= {UNCACHED_P50_MAX}x)"
    )
    cores = os.cpu_count() or 1
    ideal = cores / (engine / 1000)
    passed = uncached.concurrent_rate >= CONCURRENT_MIN * ideal
    ok &= passed
    print(
        f"uncached rendition, {uncached.concurrent_clients} clients "
        f"({uncached.concurrent_count}): {uncached.concurrent_rate:.1f}/s = "
        f"{uncached.concurrent_rate / ideal:.2f}x cores / engine ({ideal:.1f}/s)  "
        f"{'PASS' if passed else 'FAIL'} (>= {CONCURRENT_MIN}x)"
    )
    passed = burst.p99 < BURST_P99_MAX and not burst.errors
    ok &= passed
    print(
        f"metadata during renditions ({args.burst_connections} connections, {args.clients} "
        f"rendition clients at {burst_rate:.1f}/s): {burst.rps:,.0f} req/s "
        f"({burst.rps / anchor_rps:.2f}x bare), p50 {burst.p50:.1f} ms, p99 {burst.p99:.1f} ms  "
        f"{'PASS' if passed else 'FAIL'} (p99 < {BURST_P99_MAX:g} ms)"
    )
    for failure in failures:
        print(f"  - {failure}")
    print(f"\n{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

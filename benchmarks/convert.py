"""Image conversion speed of OpenPicker: the engine against naive Pillow, pyvips and a floor.

Run from the repository root:

    .venv/bin/python benchmarks/convert.py              # engine + HTTP, 15 runs, K=40, M=400
    .venv/bin/python benchmarks/convert.py --skip-http  # the single-thread comparison only
    .venv/bin/python benchmarks/convert.py --profile    # also cProfile the engine

One task throughout: a synthetic 12 MP JPEG (4032x3024, q90, gradients + noise, fixed seed) to
`resize=width:400,height:400,fit:clip` as JPEG q85, i.e. 400x300. Part 1 times it in this
process, single-threaded, for the service's engine (conversions.engine.render), a naive Pillow
resize of the full decode, pyvips' thumbnail, and the floor (libjpeg's 1/8-scale decode and
nothing else); the contenders run interleaved, round after round, so a noisy neighbour on the
machine hits them all alike. Part 2 measures renditions over HTTP: gunicorn (2 workers) and a
Celery worker (prefork, 2 processes, the `conversions` queue) on the embedded defaults (SQLite,
filesystem storage, SQLite broker) in a fresh temporary data dir, which is removed at the end,
as are the processes, even on failure. The run fails (exit status 1) if naive/engine < 4 or
engine/floor > 1.25 (medians of wall-clock time), or if an HTTP check fails (sizes and types of
the renditions, identical bytes and ETag of the cached one). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib.metadata
import io
import json
import logging
import math
import os
import pstats
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import BenchError, clean_environment, machine_lines, manage, stop_children

# libvips reads this when it starts: one worker thread, like the Pillow contenders.
os.environ["VIPS_CONCURRENCY"] = "1"

import pyvips  # noqa: E402
import requests  # noqa: E402
from PIL import Image, ImageChops, features  # noqa: E402

from tests.servers import CeleryWorker, OpenPickerServer, log_tail  # noqa: E402

WIDTH, HEIGHT = 4032, 3024
BOX = 400  # resize=width:400,height:400,fit:clip
QUALITY = 85
TARGET = (400, 300)
FLOOR_SIZE = (WIDTH // 8, HEIGHT // 8)  # what a 1/8-scale JPEG decode gives: 504x378
MIN_NAIVE_RATIO = 4.0
MAX_FLOOR_RATIO = 1.25
TASK_DONE = re.compile(r"Task conversions\.render\[[^\]]+\] succeeded in ([0-9.]+)s")
# --broker-poll: a settings module (in the temp dir) that sets the SQLite broker's polling
# interval while busy (openpicker/broker.py). kombu's SQLAlchemy transport passes every
# transport option on to create_engine, so CELERY_BROKER_TRANSPORT_OPTIONS cannot do it.
POLL_SETTINGS = """from openpicker.settings import *  # noqa: F403

from openpicker.broker import Transport

Transport.polling_interval = {poll!r}
"""


# --- The source image ------------------------------------------------------------------------


def make_jpeg(seed: int) -> bytes:
    """A 4032x3024 JPEG q90: three differently oriented gradients plus +-12 of uniform noise.

    The noise comes from random.Random(seed), so the same seed and Pillow give the same bytes.
    """
    rng = random.Random(seed)
    noise = Image.frombytes("L", (WIDTH, HEIGHT), rng.randbytes(WIDTH * HEIGHT))
    noise = noise.point(lambda v: 116 + v // 10)  # 116..141, around 128
    horizontal = Image.linear_gradient("L").rotate(90).resize((WIDTH, HEIGHT))
    vertical = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    radial = Image.radial_gradient("L").resize((WIDTH, HEIGHT))
    planes = [
        ImageChops.add(gradient, plane, 1.0, -128)
        for gradient, plane in (
            (horizontal, noise),
            (vertical, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
            (radial, noise.transpose(Image.Transpose.ROTATE_180)),
        )
    ]
    buffer = io.BytesIO()
    Image.merge("RGB", planes).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# --- Part 1: single-thread contenders --------------------------------------------------------


@dataclass
class Contender:
    key: str
    label: str
    run: Callable[[bytes], object]
    wall: list[float] = field(default_factory=list)  # ms
    cpu: list[float] = field(default_factory=list)  # ms of this process's CPU time

    @property
    def median(self) -> float:
        return percentile(self.wall, 50)

    @property
    def p90(self) -> float:
        return percentile(self.wall, 90)

    @property
    def cpu_median(self) -> float:
        return percentile(self.cpu, 50)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (the median of an even count is the mean of the two middles)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    if pct == 50:
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def contenders() -> list[Contender]:
    from conversions.engine import render
    from conversions.operations import Output, Resize

    operations = [Resize(width=BOX, height=BOX, fit="clip"), Output(format="jpg", quality=QUALITY)]

    def engine(data: bytes) -> bytes:
        return render(io.BytesIO(data), operations).data

    def naive(data: bytes) -> bytes:
        with Image.open(io.BytesIO(data)) as im:
            small = im.resize(TARGET, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, "JPEG", quality=QUALITY)
        return out.getvalue()

    def vips(data: bytes) -> bytes:
        return pyvips.Image.thumbnail_buffer(data, BOX, height=BOX).jpegsave_buffer(Q=QUALITY)

    def floor(data: bytes) -> Image.Image:
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", FLOOR_SIZE)
        im.load()
        return im

    def minimal(data: bytes) -> bytes:
        # What the engine does for this task, written out by hand: its cost above the floor is
        # the resample and the encode; anything the engine takes beyond this is its overhead.
        small = floor(data).resize(TARGET, Image.Resampling.LANCZOS, reducing_gap=3.0)
        out = io.BytesIO()
        small.save(out, "JPEG", quality=QUALITY)
        return out.getvalue()

    return [
        Contender("engine", "engine: conversions.engine.render", engine),
        Contender("naive", "naive Pillow: full decode + LANCZOS + save", naive),
        Contender("pyvips", "pyvips: thumbnail_buffer + jpegsave_buffer", vips),
        Contender("floor", "floor: JPEG decode at 1/8 scale only", floor),
        Contender("minimal", "(ref) 1/8 decode + LANCZOS + save, by hand", minimal),
    ]


def check_outputs(contenders_: list[Contender], data: bytes) -> list[str]:
    """Every contender does the task: a 400x300 JPEG (the floor: a 504x378 decode)."""
    problems = []
    for contender in contenders_:
        result = contender.run(data)
        if isinstance(result, Image.Image):
            size, fmt = result.size, "decoded"
            expected = FLOOR_SIZE, "decoded"
        else:
            with Image.open(io.BytesIO(result)) as im:
                size, fmt = im.size, im.format
            expected = TARGET, "JPEG"
        if (size, fmt) != expected:
            problems.append(f"{contender.key} gave {fmt} {size}, not {expected[1]} {expected[0]}")
    return problems


def time_contenders(contenders_: list[Contender], data: bytes, runs: int, warmups: int) -> None:
    """Round-robin: each round runs every contender once, starting one further along."""
    count = len(contenders_)
    for round_ in range(warmups + runs):
        for offset in range(count):
            contender = contenders_[(round_ + offset) % count]
            started, cpu = time.perf_counter(), time.process_time()
            contender.run(data)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            if round_ >= warmups:
                contender.wall.append(wall * 1000)
                contender.cpu.append(cpu * 1000)
        print(".", end="", flush=True)
    print(flush=True)


def profile_engine(contender: Contender, data: bytes, runs: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        contender.run(data)
    profiler.disable()
    print(f"\ncProfile of the engine, {runs} renders, by own time:")
    pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(12)


# --- Part 2: over HTTP -----------------------------------------------------------------------


@dataclass
class Fetched:
    url: str
    status: int
    seconds: float
    retries: int  # 202 answers (still rendering) before the 200
    sha256: str = ""
    etag: str = ""
    content_type: str = ""
    size: tuple[int, int] | None = None


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    fetched: list[Fetched]
    errors: list[str]

    @property
    def rate(self) -> float:
        return len(self.fetched) / self.seconds if self.seconds > 0 else float("nan")

    @property
    def latencies(self) -> list[float]:
        return [f.seconds * 1000 for f in self.fetched]


def fetch(session: requests.Session, url: str, deadline: float, *, decode: bool = False) -> Fetched:
    """GET until the rendition is there: a 202 (still rendering) is asked again after 1 s."""
    started = time.perf_counter()
    retries = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BenchError(f"time cap reached while fetching {url}")
        response = session.get(url, timeout=(5, max(1.0, min(120.0, remaining))))
        if response.status_code != 202:
            break
        retries += 1
        time.sleep(min(1.0, float(response.headers.get("Retry-After") or 1)))
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"GET {url} -> {response.status_code}: {response.text[:300]}")
    fetched = Fetched(
        url,
        response.status_code,
        seconds,
        retries,
        hashlib.sha256(response.content).hexdigest(),
        response.headers.get("ETag", ""),
        response.headers.get("Content-Type", ""),
    )
    if decode:
        with Image.open(io.BytesIO(response.content)) as im:
            fetched.size = im.size
    return fetched


def run_clients(
    name: str, urls: list[str], threads: int, deadline: float, *, decode: bool = False
) -> Phase:
    """`threads` clients, each with its own requests.Session, work through `urls` in order."""
    lock = threading.Lock()
    position = iter(range(len(urls)))
    fetched: list[Fetched] = []
    errors: list[str] = []

    def client() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    index = next(position, None)
                    if index is None or errors:
                        return
                try:
                    result = fetch(session, urls[index], deadline, decode=decode)
                except (BenchError, requests.RequestException, OSError) as error:
                    with lock:
                        errors.append(f"{urls[index]}: {error}")
                    return
                with lock:
                    fetched.append(result)

    workers = [threading.Thread(target=client, name=f"client-{i}") for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(1.0, deadline - time.monotonic() + 30))
    seconds = time.perf_counter() - started
    if any(worker.is_alive() for worker in workers):
        errors.append(f"{name}: clients still running after the time cap")
    return Phase(name, len(urls), seconds, fetched, errors)


def expected_size(width: int) -> tuple[int, int]:
    """fit:clip of 4032x3024 into width x 400 (width-bound up to 533), rounded half up."""
    return width, max(1, math.floor(width * HEIGHT / WIDTH + 0.5))


def rendition_url(base: str, handle: str, width: int) -> str:
    return f"{base}/cdn/resize=width:{width},height:{BOX}/{handle}"


def wait_for_worker(worker: CeleryWorker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise BenchError(f"the Celery worker exited ({worker.process.returncode})")
        if " ready." in worker.output():
            return
        time.sleep(0.2)
    raise BenchError(f"the Celery worker was not ready after {timeout:.0f}s")


@dataclass
class Http:
    phases: list[Phase] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    setup: str = ""
    task_ms: list[float] = field(default_factory=list)  # Celery's own time per uncached task


def task_times(worker: CeleryWorker) -> list[float]:
    """The run time of every finished conversions.render task so far (ms, from the log)."""
    return [float(seconds) * 1000 for seconds in TASK_DONE.findall(worker.output())]


def http_benchmark(args: argparse.Namespace, env: dict[str, str], data: bytes) -> Http:
    result = Http()
    server: OpenPickerServer | None = None
    worker: CeleryWorker | None = None
    deadline = time.monotonic() + args.time_cap
    try:
        print("setting up the database and an app ...", flush=True)
        manage(env, "migrate", "--noinput")
        apikey = json.loads(manage(env, "createapp", "bench").strip().splitlines()[-1])["apikey"]
        worker = CeleryWorker(env, queues="conversions", concurrency=args.celery_concurrency)
        server = OpenPickerServer(env, workers=args.workers, threads=args.server_threads)
        wait_for_worker(worker)
        poll = "as configured" if args.broker_poll is None else f"{args.broker_poll:g} s"
        result.setup = (
            f"gunicorn {args.workers} workers x {args.server_threads} threads, Celery prefork "
            f"x {args.celery_concurrency} on `conversions`, SQLite DB + SQLite broker (polling "
            f"interval {poll}), filesystem storage; {args.threads} client threads"
        )
        with requests.Session() as session:
            response = session.post(
                f"{server.url}/api/store/S3",
                params={"key": apikey, "filename": "photo.jpg"},
                data=data,
                headers={"Content-Type": "image/jpeg"},
                timeout=(5, 120),
            )
            if response.status_code != 200:
                raise BenchError(f"store -> {response.status_code}: {response.text[:300]}")
            handle = response.json()["handle"]
        print(f"stored the photo as {handle}; warming up ...", flush=True)
        # Both gunicorn workers and both Celery processes (imports, first DB connections), on
        # specs that are not measured below.
        warm = run_clients(
            "warm-up",
            [rendition_url(server.url, handle, w) for w in range(200, 200 + 2 * args.workers)],
            2 * args.workers,
            deadline,
        )
        if warm.errors:
            raise BenchError(f"warm-up failed: {warm.errors[0]}")

        widths = list(range(BOX, BOX + args.renditions))
        print(f"uncached: {len(widths)} distinct renditions ...", flush=True)
        done_before = len(task_times(worker))
        uncached = run_clients(
            "uncached: distinct renditions",
            [rendition_url(server.url, handle, w) for w in widths],
            args.threads,
            deadline,
            decode=True,
        )
        result.phases.append(uncached)
        result.failures += uncached.errors
        result.task_ms = task_times(worker)[done_before:]
        for got in uncached.fetched:
            width = int(got.url.split("width:")[1].split(",")[0])
            if got.size != expected_size(width) or got.content_type != "image/jpeg":
                result.failures.append(
                    f"{got.url}: {got.content_type} {got.size}, not image/jpeg "
                    f"{expected_size(width)}"
                )
        if len(uncached.fetched) != len(widths) and not uncached.errors:
            result.failures.append(f"uncached: {len(uncached.fetched)} of {len(widths)} answered")

        url = rendition_url(server.url, handle, BOX)
        print(f"cached: {args.requests} requests of one URL ...", flush=True)
        with requests.Session() as session:
            reference = fetch(session, url, deadline)  # the warm-up (already cached above)
        cached = run_clients("cached: one URL", [url] * args.requests, args.threads, deadline)
        result.phases.append(cached)
        result.failures += cached.errors
        bodies = {f.sha256 for f in cached.fetched} | {reference.sha256}
        etags = {f.etag for f in cached.fetched} | {reference.etag}
        if len(bodies) != 1:
            result.failures.append(f"cached: {len(bodies)} different bodies for one URL")
        if len(etags) != 1 or not reference.etag:
            result.failures.append(f"cached: ETags differ or are missing: {sorted(etags)[:3]}")
        if len(cached.fetched) != args.requests and not cached.errors:
            result.failures.append(f"cached: {len(cached.fetched)} of {args.requests} answered")
        if any(f.retries for f in cached.fetched):
            result.failures.append("cached: a request of a cached rendition answered 202")
    except (BenchError, RuntimeError, requests.RequestException, OSError, KeyError) as error:
        result.failures.append(f"HTTP benchmark: {error}")
        if server is not None:
            print(log_tail(server.log_path, "server log"), file=sys.stderr)
        if worker is not None:
            print(log_tail(worker.log_path, "Celery worker log"), file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            worker.stop()
    return result


# --- Set-up, report, main --------------------------------------------------------------------


def setup_django(data_dir: Path) -> None:
    """The engine reads its pixel cap from the settings: the benchmark's own, in its data dir."""
    os.environ["OPENPICKER_DATA_DIR"] = str(data_dir)
    os.environ["OPENPICKER_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "openpicker.settings"
    import django

    django.setup()
    logging.getLogger("pyvips").setLevel(logging.WARNING)


def machine_info() -> list[str]:
    turbo = features.version("libjpeg_turbo") if features.check("libjpeg_turbo") else None
    try:
        binary = f"pyvips-binary {importlib.metadata.version('pyvips-binary')}"
    except importlib.metadata.PackageNotFoundError:
        binary = "system libvips"
    libvips = ".".join(str(pyvips.version(i)) for i in range(3))
    mode = "API" if pyvips.API_mode else "ABI"
    return [
        *machine_lines(),
        f"Pillow:  {importlib.metadata.version('pillow')}, "
        + (f"libjpeg-turbo {turbo}" if turbo else "libjpeg (not turbo)"),
        f"pyvips:  {importlib.metadata.version('pyvips')} ({mode} mode), libvips {libvips} "
        f"({binary}), VIPS_CONCURRENCY=1, operation cache off",
    ]


def report(
    args: argparse.Namespace, data: bytes, timed: dict[str, Contender], http: Http | None
) -> bool:
    engine, naive, vips, floor, minimal = (
        timed[key] for key in ("engine", "naive", "pyvips", "floor", "minimal")
    )
    print()
    print(
        f"OpenPicker conversion benchmark: {WIDTH}x{HEIGHT} JPEG q90 ({len(data) / 1e6:.2f} MB, "
        f"sha256 {hashlib.sha256(data).hexdigest()[:12]}, seed {args.seed}) -> "
        f"resize {BOX}x{BOX} fit:clip, JPEG q{QUALITY} ({TARGET[0]}x{TARGET[1]})"
    )
    for line in machine_info():
        print(line)
    print(
        f"\nsingle thread, in-process, {args.runs} runs after {args.warmups} warm-ups, "
        "contenders interleaved; ms per image (wall clock; cpu = process CPU time)"
    )
    header = f"{'contender':<46} {'median':>8} {'p90':>8} {'cpu':>8} {'/ engine':>9}"
    print(header)
    print("-" * len(header))
    for contender in timed.values():
        print(
            f"{contender.label:<46} {contender.median:>8.1f} {contender.p90:>8.1f} "
            f"{contender.cpu_median:>8.1f} {contender.median / engine.median:>8.2f}x"
        )
    naive_ratio = naive.median / engine.median
    floor_ratio = engine.median / floor.median
    ok_naive = naive_ratio >= MIN_NAIVE_RATIO
    ok_floor = floor_ratio <= MAX_FLOOR_RATIO
    print()
    print(
        f"naive / engine  = {naive_ratio:5.2f}x (must be >= {MIN_NAIVE_RATIO:g})   "
        f"... {'PASS' if ok_naive else 'FAIL'}"
    )
    print(
        f"engine / floor  = {floor_ratio:5.2f}x (must be <= {MAX_FLOOR_RATIO:g})  "
        f"... {'PASS' if ok_floor else 'FAIL'}"
        f"   [cpu: {engine.cpu_median / floor.cpu_median:.2f}x]"
    )
    print(f"pyvips / engine = {vips.median / engine.median:5.2f}x (for information)")
    cpu_ok = (
        naive.cpu_median / engine.cpu_median >= MIN_NAIVE_RATIO,
        engine.cpu_median / floor.cpu_median <= MAX_FLOOR_RATIO,
    )
    if cpu_ok != (ok_naive, ok_floor):
        print(
            "note: the verdicts on CPU time differ from those on wall-clock time: the machine "
            "was busy (other processes took the CPU); run it again on a quiet machine"
        )
    print(
        f"engine above the floor: {engine.median - floor.median:+.1f} ms, of which resample + "
        f"encode (the by-hand reference) {minimal.median - floor.median:+.1f} ms and the "
        f"engine's own overhead {engine.median - minimal.median:+.1f} ms"
    )
    ok_http = True
    if http is not None:
        print(f"\nover HTTP: {http.setup or '(did not start)'}")
        if http.phases:
            header = (
                f"{'phase':<32} {'done':>9} {'seconds':>8} {'per s':>8} {'mean ms':>8} "
                f"{'p90 ms':>8} {'202s':>5}"
            )
            print(header)
            print("-" * len(header))
            for phase in http.phases:
                lat = phase.latencies
                mean = sum(lat) / len(lat) if lat else float("nan")
                print(
                    f"{phase.name:<32} {len(phase.fetched):>4}/{phase.requests:<4} "
                    f"{phase.seconds:>8.2f} {phase.rate:>8.1f} {mean:>8.1f} "
                    f"{percentile(lat, 90):>8.1f} {sum(f.retries for f in phase.fetched):>5}"
                )
            uncached = http.phases[0]
            if uncached.fetched:
                ideal = args.celery_concurrency * 1000 / engine.median
                print(
                    f"uncached vs the engine's bare speed on {args.celery_concurrency} "
                    f"processes ({ideal:.1f}/s): {uncached.rate / ideal:.0%}"
                )
            if http.task_ms:
                busy = sum(http.task_ms) / 1000 / args.celery_concurrency / uncached.seconds
                print(
                    f"Celery task run time (uncached, from the worker log): median "
                    f"{percentile(http.task_ms, 50):.0f} ms, p90 {percentile(http.task_ms, 90):.0f}"
                    f" ms over {len(http.task_ms)} tasks; the pool was busy {busy:.0%} of the "
                    "phase"
                )
        ok_http = not http.failures
        print(
            f"HTTP checks (sizes, types, identical cached bytes and ETag): "
            f"{'PASS' if ok_http else 'FAIL'}"
        )
        for failure in http.failures[:10]:
            print(f"  - {failure}")
    return ok_naive and ok_floor and ok_http


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs (default 15)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the image's noise")
    parser.add_argument("--skip-http", action="store_true", help="leave out the HTTP part")
    parser.add_argument(
        "--renditions", type=int, default=40, help="K distinct uncached renditions (default 40)"
    )
    parser.add_argument(
        "--requests", type=int, default=400, help="M requests of the cached URL (default 400)"
    )
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--server-threads", type=int, default=4, help="threads per gunicorn worker (default 4)"
    )
    parser.add_argument(
        "--celery-concurrency", type=int, default=2, help="Celery processes (default 2)"
    )
    parser.add_argument(
        "--time-cap", type=float, default=300, help="seconds the HTTP part may take (default 300)"
    )
    parser.add_argument(
        "--broker-poll",
        type=float,
        default=None,
        help="what-if: run the Celery worker with this SQLite-broker polling interval in "
        "seconds (default: as configured, kombu's 1 s)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the engine as well")
    parser.add_argument("--tmpdir", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.renditions < 1 or args.requests < 1 or args.threads < 1:
        parser.error("--runs, --renditions, --requests and --threads must be positive")
    if args.broker_poll is not None and args.broker_poll <= 0:
        parser.error("--broker-poll must be positive")
    if args.renditions > 130:
        parser.error("--renditions: at most 130 (the widths stay below the 533 of fit:clip)")

    # SIGTERM (e.g. from make or CI) must still run the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    clean_environment()
    workdir = Path(tempfile.mkdtemp(prefix="openpicker-convert-", dir=args.tmpdir))
    ok = False
    try:
        data_dir = workdir / "data"
        setup_django(data_dir)
        pyvips.cache_set_max(0)  # every run does the work; none is answered from the cache
        print(f"making the {WIDTH}x{HEIGHT} JPEG (seed {args.seed}) ...", flush=True)
        data = make_jpeg(args.seed)
        timed = {c.key: c for c in contenders()}
        problems = check_outputs(list(timed.values()), data)
        if problems:
            raise BenchError("; ".join(problems))
        print(f"single thread: {args.warmups} + {args.runs} rounds ", end="", flush=True)
        time_contenders(list(timed.values()), data, args.runs, args.warmups)
        if args.profile:
            profile_engine(timed["engine"], data, max(args.runs, 10))
        http = None
        if not args.skip_http:
            env = {"OPENPICKER_DATA_DIR": str(data_dir), "OPENPICKER_LOG_LEVEL": "WARNING"}
            if args.broker_poll is not None:
                shim = workdir / "settings"
                shim.mkdir()
                (shim / "openpicker_bench_settings.py").write_text(
                    POLL_SETTINGS.format(poll=args.broker_poll)
                )
                env.update(DJANGO_SETTINGS_MODULE="openpicker_bench_settings", PYTHONPATH=str(shim))
            http = http_benchmark(args, env, data)
        ok = report(args, data, timed, http)
    except BenchError as error:
        print(f"\nFAIL: {error}", file=sys.stderr)
    finally:
        stop_children()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

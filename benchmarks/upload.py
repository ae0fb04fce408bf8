"""Upload and download throughput of OpenPicker, and its memory, against a plain file copy.

Run from the repository root (`make bench` does this):

    .venv/bin/python benchmarks/upload.py                 # 1 GiB, filesystem storage, SQLite
    .venv/bin/python benchmarks/upload.py --size 256M
    .venv/bin/python benchmarks/upload.py --s3 --size 256M  # S3 through moto's server

Everything happens in a fresh temporary data dir (database, stored files, the source file),
which is removed at the end, as is the server, even on failure. The throughput of each phase is
compared with a plain `shutil.copyfile` of the same file measured in the same run, and the
server's memory (gunicorn master and workers) is sampled while each phase runs. The run fails
(exit status 1) if a stored or read-back file's SHA-256 differs from the source's, or if any
server process's peak RSS goes over --rss-limit (150 MB by default). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
from harness import BenchError, clean_environment, machine_lines, manage, stop_children

from tests.servers import MotoS3, OpenPickerServer

MB = 1_000_000
MIB = 1024 * 1024
CHUNK = MIB
BUCKET = "openpicker-bench"


def parse_size(text: str) -> int:
    """Bytes from `1073741824`, `1G`, `256M`, `512MiB`, `64k` (binary multiples)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 1G, 256M, 1048576)")
    number, unit = match.groups()
    size = int(float(number) * 1024 ** " kmgt".index(unit or " "))
    if size <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return size


def human(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"


# --- Server memory ---------------------------------------------------------------------------


def _vm_hwm(pid: int) -> int | None:
    """The kernel's peak RSS of a process (Linux VmHWM), in bytes."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_hwm(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so each phase gets its own peak."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


@dataclass
class Peaks:
    worker: int = 0  # the largest single worker process
    master: int = 0
    tree: int = 0  # master + workers, summed at the same instant
    exact: bool = False  # worker/master peaks are the kernel's VmHWM, not only samples


class RssSampler:
    """Samples the RSS of the gunicorn master and its workers every `interval` seconds.

    On Linux the per-process peaks also come from VmHWM, reset at the start of each phase,
    which catches spikes between samples; the tree total is always the sampled sum.
    """

    def __init__(self, pid: int, interval: float = 0.05):
        self.root = psutil.Process(pid)
        self.interval = interval
        self._lock = threading.Lock()
        self._peaks = Peaks()
        self._stop = threading.Event()
        self._hwm_ok = False
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> None:
        tree, worker, master = 0, 0, 0
        for process in self._processes():
            try:
                rss = process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            tree += rss
            if process.pid == self.root.pid:
                master = rss
            else:
                worker = max(worker, rss)
        with self._lock:
            peaks = self._peaks
            peaks.tree = max(peaks.tree, tree)
            peaks.worker = max(peaks.worker, worker)
            peaks.master = max(peaks.master, master)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def reset(self) -> None:
        processes = self._processes()
        self._hwm_ok = bool(processes) and all(_reset_hwm(p.pid) for p in processes)
        with self._lock:
            self._peaks = Peaks()
        self._sample()

    def peaks(self) -> Peaks:
        self._sample()
        with self._lock:
            peaks = Peaks(self._peaks.worker, self._peaks.master, self._peaks.tree)
        if self._hwm_ok:
            for process in self._processes():
                hwm = _vm_hwm(process.pid) or 0
                if process.pid == self.root.pid:
                    peaks.master = max(peaks.master, hwm)
                else:
                    peaks.worker = max(peaks.worker, hwm)
            peaks.exact = True
        return peaks

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


# --- Phases ----------------------------------------------------------------------------------


@dataclass
class Result:
    phase: str
    seconds: float
    size: int
    peaks: Peaks | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.size / self.seconds / MB if self.seconds > 0 else float("inf")


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    source: Path
    sha256: str
    server: OpenPickerServer | None = None
    sampler: RssSampler | None = None
    apikey: str = ""
    session: requests.Session = field(default_factory=requests.Session)
    results: list[Result] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def measure(self, phase: str, run, note: str = "") -> object:
        """Time `run()` with the server's memory sampled; record a row of the table.

        Dirty pages of earlier phases are flushed first, so no phase pays for another's writes.
        """
        sync()
        if self.sampler is not None:
            self.sampler.reset()
        started = time.perf_counter()
        value = run()
        seconds = time.perf_counter() - started
        peaks = self.sampler.peaks() if self.sampler is not None else None
        self.results.append(Result(phase, seconds, self.args.size, peaks, note))
        print(
            f"  {phase}: {self.args.size / seconds / MB:,.1f} MB/s in {seconds:.2f}s"
            + (f", server worker peak {peaks.worker / MB:.0f} MB" if peaks else ""),
            flush=True,
        )
        return value

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)
            print(f"  FAIL: {message}", flush=True)

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", (10, 3600))
        response = self.session.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise BenchError(
                f"{method} {url.split('?')[0]} -> {response.status_code}: {response.text[:500]}"
            )
        return response


def generate(path: Path, size: int, seed: int) -> str:
    """Write `size` pseudo-random bytes in 1 MiB chunks; return their SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            block = rng.randbytes(min(CHUNK, remaining))
            digest.update(block)
            handle.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def plain_copy(bench: Bench, runs: int = 3) -> None:
    """The baseline: the median of `runs` shutil.copyfile calls (it is the denominator)."""
    target = bench.workdir / "copy.bin"
    times = []
    try:
        for _ in range(runs):
            sync()
            started = time.perf_counter()
            shutil.copyfile(bench.source, target)
            times.append(time.perf_counter() - started)
            target.unlink()
    finally:
        target.unlink(missing_ok=True)
    seconds = sorted(times)[len(times) // 2]
    bench.results.append(Result("plain copy (baseline)", seconds, bench.args.size))
    print(
        f"  plain copy (baseline, median of {runs}): {bench.args.size / seconds / MB:,.1f} MB/s"
        f" in {seconds:.2f}s",
        flush=True,
    )


def hash_reference(bench: Bench) -> None:
    """What the server must do per byte of any upload: MD5 and SHA-256, here on one core."""

    def run() -> None:
        md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        with open(bench.source, "rb") as handle:
            while block := handle.read(CHUNK):
                md5.update(block)
                sha256.update(block)

    bench.measure("reference: md5+sha256 of the file", run, "client side, no server")


def store_raw(bench: Bench) -> dict:
    url = f"{bench.server.url}/api/store/S3"
    params = {"key": bench.apikey, "filename": "big.bin"}

    def run() -> dict:
        with open(bench.source, "rb") as body:
            return bench.request(
                "POST",
                url,
                params=params,
                data=body,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(bench.args.size),
                },
            ).json()

    blob = bench.measure("store: raw body (POST /api/store/S3)", run)
    bench.check(
        blob.get("size") == bench.args.size,
        f"raw store answered size {blob.get('size')}, not {bench.args.size}",
    )
    return blob


class MultipartFormBody:
    """A multipart/form-data body with the file as `fileUpload`, streamed from disk.

    requests would build such a body in memory; this one has a length and is read in chunks.
    """

    def __init__(self, path: Path, filename: str):
        self.boundary = f"openpicker-bench-{random.getrandbits(64):016x}"
        self._head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="fileUpload"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._size = os.fstat(self._file.fileno()).st_size
        self._stage = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def read(self, n: int = CHUNK) -> bytes:
        n = CHUNK if n is None or n < 0 else n
        while self._stage < 3:
            if self._stage == 0:
                data, self._head = self._head[:n], self._head[n:]
            elif self._stage == 1:
                data = self._file.read(n)
            else:
                data, self._tail = self._tail[:n], self._tail[n:]
            if data:
                return data
            self._stage += 1
        return b""

    def __iter__(self):
        return iter(lambda: self.read(CHUNK), b"")

    def close(self) -> None:
        self._file.close()


def store_form(bench: Bench) -> dict:
    url = f"{bench.server.url}/api/store/S3"

    def run() -> dict:
        body = MultipartFormBody(bench.source, "big.bin")
        try:
            return bench.request(
                "POST",
                url,
                params={"key": bench.apikey},
                data=body,
                headers={
                    "Content-Type": body.content_type,
                    "Content-Length": str(len(body)),
                },
            ).json()
        finally:
            body.close()

    blob = bench.measure(
        "store: multipart/form-data fileUpload", run, "Django spools it to a temp file"
    )
    bench.check(
        blob.get("size") == bench.args.size,
        f"form store answered size {blob.get('size')}, not {bench.args.size}",
    )
    return blob


def store_multipart(bench: Bench) -> dict:
    """Filestack's multipart upload (start, one signed PUT per part, complete), sequential."""
    size, part_size = bench.args.size, bench.args.part_size
    server = bench.server.url
    common = {
        "apikey": bench.apikey,
        "filename": "big.bin",
        "mimetype": "application/octet-stream",
        "size": size,
        "store": {"location": "s3"},
    }
    state: dict = {}

    def upload_parts() -> None:
        started = bench.request("POST", f"{server}/upload/multipart/start", json=common).json()
        # Like the SDKs: /multipart/upload and /complete go to https://{location_url}.
        location = started["location_url"]
        base = location if "://" in location else f"https://{location}"
        ids = {
            "uri": started["uri"],
            "region": started["region"],
            "upload_id": started["upload_id"],
        }
        parts = []
        with open(bench.source, "rb") as handle:
            number = 0
            while data := handle.read(part_size):
                number += 1
                md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
                target = bench.request(
                    "POST",
                    f"{base}/multipart/upload",
                    json={
                        "apikey": bench.apikey,
                        "part": number,
                        "size": len(data),
                        "md5": md5,
                        "store": {"location": "s3"},
                        **ids,
                    },
                ).json()
                put = bench.request("PUT", target["url"], data=data, headers=target["headers"])
                parts.append({"part_number": number, "etag": put.headers["ETag"]})
        state.update(base=base, ids=ids, parts=parts)

    def complete() -> dict:
        response = None
        for _ in range(600):
            response = bench.request(
                "POST",
                f"{state['base']}/multipart/complete",
                json={**common, **state["ids"], "parts": state["parts"]},
            )
            if response.status_code != 202:
                return response.json()
            time.sleep(1)
        raise BenchError("multipart complete stayed 202 (pending)")

    parts_started = time.perf_counter()
    bench.measure(
        f"multipart: {human(part_size)} parts (start+upload+PUT)",
        upload_parts,
        f"{len(range(0, size, part_size))} parts, sequential",
    )
    blob = bench.measure("multipart: complete (assemble parts)", complete)
    total = time.perf_counter() - parts_started
    peaks = [r.peaks for r in bench.results[-2:] if r.peaks is not None]
    combined = (
        Peaks(
            max(p.worker for p in peaks),
            max(p.master for p in peaks),
            max(p.tree for p in peaks),
            all(p.exact for p in peaks),
        )
        if peaks
        else None
    )
    bench.results.append(Result("multipart: total", total, size, combined, "parts + complete"))
    print(f"  multipart: total: {size / total / MB:,.1f} MB/s in {total:.2f}s", flush=True)
    bench.check(
        blob.get("size") == size, f"multipart complete answered size {blob.get('size')}, not {size}"
    )
    return blob


def read_back(bench: Bench, blob: dict, label: str) -> None:
    """GET the file, streamed in 1 MiB chunks and hashed as they arrive.

    Hashed, not written to a file: on this kind of VM, writing fresh pages costs the client
    more than the server spends, and would be what the row measures.
    """

    def run() -> tuple[int, str]:
        digest, got = hashlib.sha256(), 0
        with bench.request("GET", blob["url"], stream=True) as response:
            for chunk in response.iter_content(CHUNK):
                digest.update(chunk)
                got += len(chunk)
        return got, digest.hexdigest()

    got, sha256 = bench.measure(f"read: GET /api/file ({label})", run, "client hashes inline")
    bench.check(got == bench.args.size, f"read back {got} bytes of {label}, not {bench.args.size}")
    bench.check(sha256 == bench.sha256, f"the bytes read back ({label}) differ from the source")


def check_stored(bench: Bench, blob: dict, label: str) -> None:
    """The server's own SHA-256 of what it stored (metadata), against the source's."""
    meta = bench.request("GET", f"{blob['url']}/metadata", params={"sha256": "true"}).json()
    bench.check(
        meta.get("sha256") == bench.sha256,
        f"the server's sha256 of the {label} upload differs from the source's",
    )


def remove(bench: Bench, blob: dict) -> None:
    """Delete a stored file, to keep the disk (or moto's memory) from filling up."""
    bench.request("DELETE", blob["url"], params={"key": bench.apikey})


def api_phases(bench: Bench) -> None:
    """Store, verify, read back and remove, through each upload flow."""
    skip = bench.args.skip
    blob = store_raw(bench)
    check_stored(bench, blob, "raw")
    if "read" not in skip:
        read_back(bench, blob, "raw-stored")
    remove(bench, blob)
    if "form" not in skip:
        blob = store_form(bench)
        check_stored(bench, blob, "multipart/form-data")
        remove(bench, blob)
    if "multipart" not in skip:
        blob = store_multipart(bench)
        check_stored(bench, blob, "multipart")
        if "read" not in skip:
            read_back(bench, blob, "multipart-stored")
        remove(bench, blob)


# --- Set-up, report, main --------------------------------------------------------------------


def summarize(results: list[Result]) -> list[Result]:
    """One row per phase, in order: the median time of its runs, the highest memory peaks."""
    phases: dict[str, list[Result]] = {}
    for result in results:
        phases.setdefault(result.phase, []).append(result)
    rows = []
    for phase, runs in phases.items():
        median = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
        peaks = [r.peaks for r in runs if r.peaks is not None]
        worst = None
        if peaks:
            worst = Peaks(
                max(p.worker for p in peaks),
                max(p.master for p in peaks),
                max(p.tree for p in peaks),
                all(p.exact for p in peaks),
            )
        notes = [runs[0].note] if runs[0].note else []
        if len(runs) > 1:
            notes.append(f"median of {len(runs)}")
        rows.append(Result(phase, median.seconds, median.size, worst, "; ".join(notes)))
    return rows


def sync() -> None:
    if hasattr(os, "sync"):
        os.sync()


def report(bench: Bench, setup: str) -> bool:
    args = bench.args
    baseline = next(r for r in bench.results if r.phase.startswith("plain copy"))
    limit = args.rss_limit
    print()
    print(f"OpenPicker upload benchmark, {human(args.size)} ({args.size:,} bytes)")
    for line in machine_lines():
        print(line)
    print(setup)
    print(
        "MB = 10^6 bytes; RSS peaks are per phase: 'worker' is the largest single gunicorn "
        "worker, 'tree' master + workers"
    )
    header = (
        f"{'phase':<44} {'MB/s':>9} {'vs copy':>8} {'worker MB':>10} {'tree MB':>8} {'seconds':>8}"
        "  notes"
    )
    print(header)
    print("-" * (len(header) + 20))
    worst_worker, worst_tree = 0, 0
    exact = True
    for result in summarize(bench.results):
        peaks = result.peaks
        worker = f"{peaks.worker / MB:.0f}" if peaks else "-"
        tree = f"{peaks.tree / MB:.0f}" if peaks else "-"
        if peaks:
            worst_worker = max(worst_worker, peaks.worker, peaks.master)
            worst_tree = max(worst_tree, peaks.tree)
            exact = exact and peaks.exact
        if result.size:
            rate = f"{result.rate:>9,.1f} {result.rate / baseline.rate:>7.2f}x"
            seconds = f"{result.seconds:.2f}"
        else:
            rate, seconds = f"{'-':>9} {'-':>8}", "-"
        print(f"{result.phase:<44} {rate} {worker:>10} {tree:>8} {seconds:>8}  {result.note}")
    print()
    how = "VmHWM + 50 ms samples" if exact else "50 ms samples"
    passed = worst_worker <= limit * MB
    print(
        f"server peak RSS, per process ({how}): {worst_worker / MB:.0f} MB "
        f"(limit {limit:g} MB) ... {'PASS' if passed else 'FAIL'}"
    )
    print(
        f"server peak RSS, whole tree (master + {args.workers} workers, sampled): "
        f"{worst_tree / MB:.0f} MB"
    )
    checksums_ok = not bench.failures
    print(f"checksums and sizes: {'PASS' if checksums_ok else 'FAIL'}")
    for failure in bench.failures:
        print(f"  - {failure}")
    return passed and checksums_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size",
        type=parse_size,
        default=None,
        help="file size, e.g. 1G, 256M (default 1G; 256M with --s3)",
    )
    parser.add_argument(
        "--s3",
        action="store_true",
        help="store in S3 (moto's server, which keeps objects in memory)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--part-size", type=parse_size, default=8 * MIB, help="multipart part size (default 8M)"
    )
    parser.add_argument(
        "--rss-limit",
        type=float,
        default=150,
        help="fail if any server process peaks above this many MB (default 150)",
    )
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=None,
        help="where the temporary data dir goes (default: the system's)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the API phases N times; report the median"
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed of the file's bytes")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["form", "multipart", "read"],
        help="leave out a phase",
    )
    args = parser.parse_args(argv)
    args.size = args.size or (256 * MIB if args.s3 else 1024**3)

    # SIGTERM (e.g. from make or CI) must still run the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    free = shutil.disk_usage(args.tmpdir or tempfile.gettempdir()).free
    if free < args.size * 4:
        print(
            f"needs about {human(args.size * 4)} of free disk, {human(free)} left", file=sys.stderr
        )
        return 2

    clean_environment()
    workdir = Path(tempfile.mkdtemp(prefix="openpicker-bench-", dir=args.tmpdir))
    moto: MotoS3 | None = None
    bench: Bench | None = None
    ok = False
    try:
        env = {
            "OPENPICKER_DATA_DIR": str(workdir / "data"),
            "OPENPICKER_LOG_LEVEL": "WARNING",
            "OPENPICKER_MAX_UPLOAD_BYTES": str(max(args.size, 5 * 1024**3)),
        }
        storage = "filesystem (data dir)"
        if args.s3:
            moto = MotoS3()
            moto.create_bucket(BUCKET)
            env.update(
                OPENPICKER_STORAGE="s3",
                AWS_S3_ENDPOINT_URL=moto.url,
                AWS_STORAGE_BUCKET_NAME=BUCKET,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's
                AWS_S3_REGION_NAME="us-east-1",
            )
            storage = f"S3 (moto_server at {moto.url}, objects in its memory)"
        setup = (
            f"server:  gunicorn {args.workers} workers x {args.threads} threads, SQLite, "
            f"storage {storage}; temp dir {workdir}"
        )

        print(f"generating {human(args.size)} in {workdir} ...", flush=True)
        source = workdir / "source.bin"
        started = time.perf_counter()
        sha256 = generate(source, args.size, args.seed)
        print(f"  {time.perf_counter() - started:.1f}s, sha256 {sha256[:16]}...", flush=True)
        bench = Bench(args, workdir, source, sha256)
        plain_copy(bench)
        hash_reference(bench)

        print("setting up the database and an app ...", flush=True)
        manage(env, "migrate", "--noinput")
        bench.apikey = json.loads(manage(env, "createapp", "bench").strip().splitlines()[-1])[
            "apikey"
        ]
        bench.server = OpenPickerServer(env, workers=args.workers, threads=args.threads)
        bench.sampler = RssSampler(bench.server.process.pid)
        # Warm up the workers (imports, first DB connection) before measuring; a new
        # connection each time, so that not only one worker gets them.
        for _ in range(args.workers * 3):
            requests.post(
                f"{bench.server.url}/api/store/S3",
                params={"key": bench.apikey},
                data=b"warm-up",
                headers={"Content-Type": "application/octet-stream", "Connection": "close"},
                timeout=60,
            ).raise_for_status()
        bench.sampler.reset()
        time.sleep(0.5)
        bench.results.append(Result("server idle (after warm-up)", 0, 0, bench.sampler.peaks()))

        print(f"benchmarking against {bench.server.url} ...", flush=True)
        for run in range(1, args.repeat + 1):
            if args.repeat > 1:
                print(f" run {run} of {args.repeat}", flush=True)
            api_phases(bench)
        ok = report(bench, setup)
    except (BenchError, RuntimeError, requests.RequestException) as exc:
        print(f"\nFAIL: {exc}", file=sys.stderr)
        if bench is not None and bench.server is not None:
            log = bench.server.log_path.read_bytes()[-4000:].decode(errors="replace")
            print(f"--- end of the server log ---\n{log}", file=sys.stderr)
    finally:
        if bench is not None:
            if bench.sampler is not None:
                bench.sampler.stop()
            if bench.server is not None:
                bench.server.stop()
            bench.session.close()
        if moto is not None:
            moto.stop()
        stop_children()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

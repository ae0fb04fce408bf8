"""The idle footprint of `make run`: processes, total RSS and CPU of `manage.py serve` at rest.

Run from the repository root:

    .venv/bin/python benchmarks/idle.py                 # 30 s, after 15 s to settle
    .venv/bin/python benchmarks/idle.py --seconds 60

`make run` on the embedded defaults (SQLite, filesystem storage, the SQLite broker, the
sandbox on), in a fresh temporary data dir: `manage.py migrate`, then `manage.py serve`. Once
the web server answers, the run waits `--settle` seconds (imports, the workers' start-up),
then samples the whole process tree every second for `--seconds`: the number of processes,
their summed RSS (and USS, the memory only that process holds), and the CPU time they used in
the window as a share of one core. It fails (exit status 1) if the RSS passes 600 MB or the
CPU 1 % of a core (issue 7). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests
from harness import ROOT, BenchError, clean_environment, machine_lines, manage, stop_children

from tests.servers import free_port, log_tail

MAX_RSS_MB = 600
MAX_CPU_PERCENT = 1.0


def tree(root: psutil.Process) -> list[psutil.Process]:
    return [root, *root.children(recursive=True)]


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        out[process.pid] = times.user + times.system
    return out


def memory(processes: list[psutil.Process]) -> tuple[float, float]:
    """(summed RSS, summed USS) in MB."""
    rss = uss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        uss += info.uss
    return rss / 1e6, uss / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="measured window (30)")
    parser.add_argument("--settle", type=float, default=15, help="wait before it (15)")
    parser.add_argument("--tmpdir", type=Path, default=None)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    clean_environment()
    workdir = Path(tempfile.mkdtemp(prefix="openpicker-idle-", dir=args.tmpdir))
    env = {"OPENPICKER_DATA_DIR": str(workdir / "data"), "OPENPICKER_SANDBOX": "1"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env["OPENPICKER_BASE_URL"] = url
    log_path = workdir / "serve.log"
    process = None
    try:
        manage(env, "migrate", "--noinput")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise BenchError(f"serve exited with {process.returncode}")
            try:
                requests.get(f"{url}/api/file/{'x' * 20}/metadata", timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise BenchError("serve never answered") from None
                time.sleep(0.2)
        print(f"serve answers; settling for {args.settle:g} s ...", flush=True)
        time.sleep(args.settle)
        root = psutil.Process(process.pid)
        processes = tree(root)
        names = {
            p.pid: " ".join(a for a in p.cmdline() if not a.startswith(("/", "{")))[:60]
            for p in processes
        }
        before = cpu_seconds(processes)
        started = time.monotonic()
        peak_rss = peak_uss = 0.0
        counts = set()
        print(f"measuring for {args.seconds:g} s ...", flush=True)
        while time.monotonic() - started < args.seconds:
            processes = tree(root)
            counts.add(len(processes))
            rss, uss = memory(processes)
            peak_rss, peak_uss = max(peak_rss, rss), max(peak_uss, uss)
            time.sleep(1.0)
        after = cpu_seconds(tree(root))
        elapsed = time.monotonic() - started
        used_by = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        used = sum(used_by.values())
        rss_by = {p.pid: p.memory_info().rss / 1e6 for p in tree(root)}
        cpu = 100 * used / elapsed
    except (BenchError, OSError, psutil.Error) as error:
        print(f"\nFAIL: {error}", file=sys.stderr)
        print(log_tail(log_path, "serve log"), file=sys.stderr)
        return 1
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        stop_children()
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print("\n".join(machine_lines()))
    print("setup:   make run (manage.py serve, embedded defaults, OPENPICKER_SANDBOX=1)")
    print(f"window:  {elapsed:.0f} s after {args.settle:g} s of settling")
    print("processes (RSS at the end, CPU in the window):")
    for pid, name in names.items():
        print(f"  {rss_by.get(pid, 0):6.0f} MB {used_by.get(pid, 0):6.2f} s  {name}")
    rss_ok = peak_rss < MAX_RSS_MB
    cpu_ok = cpu < MAX_CPU_PERCENT
    print(f"process count: {'/'.join(str(c) for c in sorted(counts))}")
    print(
        f"total RSS: {peak_rss:.0f} MB (USS {peak_uss:.0f} MB)  "
        f"{'PASS' if rss_ok else 'FAIL'} (< {MAX_RSS_MB} MB)"
    )
    print(
        f"CPU: {cpu:.2f} % of one core ({used:.2f} s in {elapsed:.0f} s)  "
        f"{'PASS' if cpu_ok else 'FAIL'} (< {MAX_CPU_PERCENT:g} %)"
    )
    return 0 if rss_ok and cpu_ok else 1


if __name__ == "__main__":
    sys.exit(main())

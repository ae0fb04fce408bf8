"""Instructions per request of the request path, in process, under callgrind: a figure the VM's
speed does not move.

    .venv/bin/python benchmarks/count_api.py [--requests 200]

`api.py`'s ratios move by 0.1 from one run to the next on this VM (its speed doubles and halves
within minutes). The instructions a request executes do not: callgrind counts them, the same
for the same code, whatever else the machine is doing. This runs, in one process under
`valgrind --tool=callgrind` (Debian's valgrind), on the embedded defaults in a fresh temporary
data dir: an app, a 2 KiB file and a 640x480 JPEG, then `--requests` GETs of each of the bare
DRF view, a plain Django view (Django's own floor), the metadata, the 2 KiB read and a cached
rendition, through Django's WSGI handler (every middleware, DRF) with the body consumed. Counting
is switched on only around each row's requests (`callgrind_control`), so setup and warm-up are
not counted. It prints thousands of instructions (kIr) per request and each row's ratio to the
bare view. What it leaves out is the same for every row: gunicorn, the kernel and the client.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = ("bare DRF view", "plain Django view", "metadata", "read 2 KiB", "cached rendition")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per row (default 200)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind is not installed (Debian: apt-get install valgrind)")
    outdir = Path(tempfile.mkdtemp(prefix="openpicker-count-"))
    try:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={outdir / 'cg.out'}",
            sys.executable,
            __file__,
            "--inside",
            str(args.requests),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode:
            print(completed.stdout[-3000:], completed.stderr[-3000:], file=sys.stderr)
            return 1
        counts = _counts(outdir)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    if set(counts) != set(ROWS):
        print(f"callgrind dumped {sorted(counts)}, not every row", file=sys.stderr)
        return 1
    bare = counts["bare DRF view"] / args.requests
    print(f"{'row':<20}{'kIr/request':>12}{'vs bare':>9}")
    for row in ROWS:
        per = counts[row] / args.requests
        print(f"{row:<20}{per / 1000:>12,.0f}{bare / per:>8.2f}x")
    return 0


def _counts(outdir: Path) -> dict[str, int]:
    """Instructions per dump, by the row named in its trigger."""
    counts = {}
    for path in outdir.glob("cg.out.*"):
        text = path.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: Client Request: (.+)$|^desc: Trigger: dump (.+)$",
                            text, re.MULTILINE)  # fmt: skip
        summary = re.search(r"^summary: (\d+)", text, re.MULTILINE)
        if trigger and summary:
            name = (trigger.group(1) or trigger.group(2)).strip().replace("_", " ")
            counts[name] = int(summary.group(1))
    return counts


def inside(requests: int) -> None:
    """Under callgrind: set up, warm up, and count each row's requests in a dump of its own."""
    sys.path.insert(0, str(HERE))
    from harness import request_path_rows

    with request_path_rows("openpicker-count-data-") as paths:
        from django.core.handlers.wsgi import WSGIHandler

        handler = WSGIHandler()
        for _ in range(3):  # warm-up: every lookup compiled, the rendition computed
            for url in paths.values():
                _get(handler, url)
        pid = str(os.getpid())
        _control("-i", "on", pid)
        for row, url in paths.items():
            _control("-z", pid)
            for _ in range(requests):
                _get(handler, url)
            _control("-d", row.replace(" ", "_"), pid)
        _control("-i", "off", pid)


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def _get(handler, url: str) -> None:
    """One GET through the WSGI handler, its body consumed as a server would."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": url,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    body = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    if not statuses[0].startswith("200"):
        raise SystemExit(f"{url}: {statuses[0]}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())

"""What the benchmarks share: the repository on sys.path, a clean environment, manage.py."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Settings read from the environment (openpicker/settings.py) that must not leak in from the
# caller's shell: a benchmark always runs on the configuration it sets up itself.
LEAKY_PREFIXES = ("OPENPICKER_", "AWS_")
LEAKY_NAMES = ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
LOAD_AT_START = os.getloadavg()


class BenchError(Exception):
    """A failed request, check or set-up step; the run stops and exits non-zero."""


def clean_environment() -> None:
    """Drop settings from the caller's environment; the servers start from os.environ."""
    for name in list(os.environ):
        if name.startswith(LEAKY_PREFIXES) or name in LEAKY_NAMES:
            del os.environ[name]


def stop_children() -> None:
    """Last resort: end any process this run started that is still alive (by its pid)."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command with this environment; its stdout."""
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if completed.returncode:
        raise BenchError(
            f"manage.py {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}"
        )
    return completed.stdout


def machine_lines() -> list[str]:
    """Machine, Python and load, for the report's header."""
    memory = psutil.virtual_memory().total
    return [
        f"machine: {os.cpu_count()} CPUs, {memory / 1024**3:.1f} GiB RAM, {platform.platform()}",
        f"python:  {platform.python_implementation()} {platform.python_version()}",
        f"load:    {LOAD_AT_START[0]:.2f} before the run, {os.getloadavg()[0]:.2f} after "
        "(1-minute average; other work on the machine skews the figures)",
    ]

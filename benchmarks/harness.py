"""What the benchmarks share: the repository on sys.path, a clean environment, manage.py."""

from __future__ import annotations

import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def request_path_rows(prefix: str) -> Iterator[dict[str, str]]:
    """Django set up in this process on the embedded defaults, in a fresh temporary data dir
    (removed afterwards), with `benchmarks.api_settings`; an app, a 2 KiB file and a 640x480
    JPEG. Yields the in-process rows' paths: the bare DRF view, a plain Django view, metadata,
    the 2 KiB read and a cached rendition (profile_api.py, count_api.py)."""
    from PIL import Image

    clean_environment()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        env = {
            "OPENPICKER_DATA_DIR": str(workdir),
            "OPENPICKER_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "benchmarks.api_settings",
        }
        os.environ.update(env)
        manage(env, "migrate", "--noinput")
        import django

        django.setup()
        from picker import files
        from picker.models import App

        app = App.objects.create(name="bench")
        small = files.store(app, io.BytesIO(os.urandom(2048)).read, files.StoreOptions("a.txt"))
        picture = io.BytesIO()
        Image.new("RGB", (640, 480), "teal").save(picture, "JPEG")
        photo = files.store(app, io.BytesIO(picture.getvalue()).read, files.StoreOptions("p.jpg"))
        yield {
            "bare DRF view": "/bench/bare",
            "plain Django view": "/bench/plain",
            "metadata": f"/api/file/{small.handle}/metadata",
            "read 2 KiB": f"/api/file/{small.handle}",
            "cached rendition": f"/cdn/resize=width:400,height:400/{photo.handle}",
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

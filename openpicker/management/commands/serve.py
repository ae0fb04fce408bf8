"""`manage.py serve`: the web server and one Celery worker (with beat), supervised together.

What `make run` starts: gunicorn (a master and `--web-workers` workers), and one Celery worker
that consumes every queue (`celery`, `conversions`) with a thread pool sized to the cores and
runs beat in a thread (`--beat-thread`, openpicker/celery.py): two long-lived Python processes
besides the web server's, where there were eight. The command then replaces itself with a
small supervisor (openpicker/supervise.py) that stops everything when any one of them exits or
on Ctrl-C. See benchmarks/README.md (`idle.py`) for what this costs at rest.
"""

import json
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

import openpicker

SUPERVISOR = Path(openpicker.__file__).with_name("supervise.py")


def commands(bind: str, web_workers: int, concurrency: int, pool: str, celery: bool) -> dict:
    """The command line of every process serve runs, by name."""
    python = sys.executable
    out = {
        "web": [python, "-m", "gunicorn", "openpicker.wsgi:application", "--bind", bind,
                "--workers", str(web_workers), "--threads", "4", "--timeout", "300",
                "--access-logfile", "-"],
    }  # fmt: skip
    if celery:
        # One worker for every queue. Conversions are CPU-bound, in Pillow's C code, which
        # releases the GIL: threads, one per core, run them in parallel like processes would,
        # without a copy of the worker per core. Gossip, mingle and heartbeats are for clusters
        # of workers; on the embedded broker each would be polled or written too.
        out["worker"] = [python, "-m", "celery", "-A", "openpicker", "worker",
                         "--loglevel", "INFO", "--queues", "celery,conversions,webhooks",
                         "--pool", pool, "--concurrency", str(concurrency),
                         "--hostname", "openpicker@%h", "--beat-thread",
                         "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME,
                         "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    return out


class Command(BaseCommand):
    help = "Run web (gunicorn) and a Celery worker with beat until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("OPENPICKER_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument(
            "--worker-concurrency",
            type=int,
            default=os.cpu_count() or 1,
            help="task threads (or processes); default: one per core",
        )
        parser.add_argument(
            "--worker-pool", choices=["threads", "prefork", "solo"], default="threads"
        )
        parser.add_argument("--no-celery", action="store_true", help="web server only")

    def handle(self, *args, bind, web_workers, worker_concurrency, worker_pool, no_celery, **kw):
        todo = commands(bind, web_workers, worker_concurrency, worker_pool, not no_celery)
        self.stdout.write(f"OpenPicker at http://{bind} ({', '.join(todo)} running)")
        self.stdout.flush()
        os.execv(sys.executable, [sys.executable, str(SUPERVISOR), json.dumps(todo)])  # noqa: S606

"""`manage.py serve`: every process type of the Procfile, supervised together.

The Procfile (at the repository's root) declares the process types once: `web` (gunicorn),
`worker` (Celery: the `celery` and `conversions` queues, a thread per core), `webhooks` (Celery:
the `webhooks` queue alone, so a slow receiver never delays a conversion) and `beat` (the
periodic jobs; one per deployment). A deployment runs each type under its own process manager
(systemd, Kubernetes, honcho, ...) and scales each on its own; `make run` runs this command,
which starts one of each through `/bin/sh -c` (so the Procfile's `${VAR:-default}` apply; beat
runs as a thread of the webhooks worker unless `--beat-process`, a Django less) and then
replaces itself with a small standard-library supervisor (openpicker/supervise.py) that
stops everything when any one of them exits or on Ctrl-C. It also empties the node's metrics
folder (prometheus_client's multiprocess files), as a fresh start of the node.
"""

import json
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import openpicker

SUPERVISOR = Path(openpicker.__file__).with_name("supervise.py")
PROCFILE = Path(settings.BASE_DIR) / "Procfile"


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """The process types of a Procfile, in order: `name: command` lines."""
    types = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip().isidentifier() or not command.strip():
            raise CommandError(f"{path}:{number}: expected 'name: command'")
        types[name.strip()] = command.strip()
    return types


def commands(
    types: dict[str, str], only: list[str] | None = None, beat_thread: bool = True
) -> dict[str, list[str]]:
    """The command line of every process serve runs, by name.

    With `beat_thread`, when both run here, beat becomes a thread of the webhooks worker
    (`--beat-thread`, openpicker/celery.py) instead of a process: the same schedule, one
    Django less in memory (benchmarks/README.md, idle.py).
    """
    chosen = only or list(types)
    unknown = [name for name in chosen if name not in types]
    if unknown:
        raise CommandError(f"not in the Procfile: {', '.join(unknown)}")
    out = {name: types[name] for name in chosen}
    if beat_thread and "beat" in out and "webhooks" in out:
        del out["beat"]
        out["webhooks"] += " --beat-thread"
    return {name: ["/bin/sh", "-c", command] for name, command in out.items()}


def clear_metrics(folder: Path) -> None:
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


class Command(BaseCommand):
    help = "Run the Procfile's process types (web, worker, webhooks, beat) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("OPENPICKER_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=None)
        parser.add_argument(
            "--worker-concurrency", type=int, default=None, help="conversion threads (cores)"
        )
        parser.add_argument("--webhook-concurrency", type=int, default=None)
        parser.add_argument("--only", help="comma-separated process types (default: all)")
        parser.add_argument("--no-celery", action="store_true", help="web server only")
        parser.add_argument(
            "--beat-process",
            action="store_true",
            help="beat as a process of its own (default: a thread of the webhooks worker)",
        )

    def handle(self, *args, bind, web_workers, worker_concurrency, webhook_concurrency, **kw):
        only = [name.strip() for name in kw["only"].split(",")] if kw["only"] else None
        if kw["no_celery"]:
            only = ["web"]
        todo = commands(read_procfile(), only, beat_thread=not kw["beat_process"])
        env = {"OPENPICKER_BIND": bind}
        for name, value in (
            ("OPENPICKER_WEB_WORKERS", web_workers),
            ("OPENPICKER_WORKER_CONCURRENCY", worker_concurrency),
            ("OPENPICKER_WEBHOOK_CONCURRENCY", webhook_concurrency),
        ):
            if value is not None:
                env[name] = str(value)
        # `python` in the Procfile is this interpreter (the virtualenv's).
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
        os.environ.update(env)
        clear_metrics(settings.OPENPICKER_METRICS_DIR)
        self.stdout.write(f"OpenPicker at http://{bind} ({', '.join(todo)} running)")
        self.stdout.flush()
        os.execv(sys.executable, [sys.executable, str(SUPERVISOR), json.dumps(todo)])  # noqa: S606

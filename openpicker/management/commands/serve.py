"""`manage.py serve`: the web server, a Celery worker and Celery beat, supervised together.

What `make run` starts. Stops everything when any one of them exits or on Ctrl-C.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web (gunicorn), a Celery worker and Celery beat until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("OPENPICKER_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-celery", action="store_true", help="web server only")

    def handle(self, *args, bind, web_workers, no_celery, **options):
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "openpicker"]
        commands = {
            "web": [python, "-m", "gunicorn", "openpicker.wsgi:application", "--bind", bind,
                    "--workers", str(web_workers), "--threads", "4", "--timeout", "300",
                    "--access-logfile", "-"],
        }  # fmt: skip
        if not no_celery:
            commands["worker"] = [*celery, "worker", "--loglevel", "INFO", "--queues", "celery",
                                  "--concurrency", "2", "--hostname", "default@%h"]  # fmt: skip
            # Conversions are CPU-bound: their own pool, one process per core, so the web
            # workers and the other tasks stay responsive.
            commands["conversions"] = [*celery, "worker", "--loglevel", "INFO", "--queues",
                                       "conversions", "--concurrency", str(os.cpu_count() or 1),
                                       "--hostname", "conversions@%h"]  # fmt: skip
            commands["beat"] = [*celery, "beat", "--loglevel", "INFO", "--schedule",
                                settings.CELERY_BEAT_SCHEDULE_FILENAME]  # fmt: skip
        children = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        self.stdout.write(f"OpenPicker at http://{bind} ({', '.join(children)} running)")
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping")
                        stopping = True
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children.values():
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()

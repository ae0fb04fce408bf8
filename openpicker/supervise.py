"""Run several commands together until one exits or a signal comes; then stop them all.

`manage.py serve` reads the commands from the Procfile, then replaces itself with this file run
as a script (`python openpicker/supervise.py JSON`): it imports only the standard library, so
the process that waits costs a few MB instead of a whole Django (honcho would run the same
Procfile, but with a Python helper process per type and a 5 s grace that cuts a webhook attempt
in flight).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

# Long enough for a webhook attempt in flight (15 s at most) and gunicorn's graceful stop.
GRACE_SECONDS = 25


def supervise(commands: dict[str, list[str]]) -> int:
    """Start every command; when one exits (or on SIGINT/SIGTERM) stop the others.

    The exit status is the first child's that exited on its own, 0 after a signal.
    """
    stopping = False
    status = 0

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = {name: subprocess.Popen(command) for name, command in commands.items()}
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping", file=sys.stderr)
                    status = child.returncode or 1
                    stopping = True
                    break
            else:
                time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return status


if __name__ == "__main__":
    sys.exit(supervise(json.loads(sys.argv[1])))

"""One "beat" on a driven clock, as a process of its own: the webhook sweeper at START, then
every STEP seconds after it, STEPS times (`manage.py deliver_due --now T` in a loop, one Django
start). Used by test_two_beats; the environment names the database and broker.

A real beat ticks every few seconds and the worker keeps up between ticks; here the clock is
driven far faster than that, so before its next tick a beat waits (up to 60 s) until no
delivery is held (claimed or being attempted), by it or by the other beat.

    python tests/webhooks/drive_beat.py 2026-12-02T00:00:00+00:00 5 120 [BARRIER_DIR PARTIES]

With BARRIER_DIR and PARTIES, a beat starts its clock only once PARTIES beats are ready (each
leaves a file there after Django's start): a beat whose start was slow must not find the other
one already past the sweeps it was meant to race.
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")


def main(start: str, step: str, steps: str, barrier: str = "", parties: str = "1") -> None:
    import django

    django.setup()
    if barrier:
        (Path(barrier) / f"ready-{os.getpid()}").touch()
        deadline = time.monotonic() + 120
        while len(list(Path(barrier).glob("ready-*"))) < int(parties):
            if time.monotonic() > deadline:
                sys.exit("the other beats did not get ready within 120 s")
            time.sleep(0.01)
    from django.core.management import call_command
    from django.utils.dateparse import parse_datetime

    from webhooks.models import Delivery

    held = Delivery.objects.filter(status=Delivery.Status.PENDING, lease_until__isnull=False)
    at = parse_datetime(start)
    for n in range(int(steps)):
        call_command("deliver_due", now=(at + timedelta(seconds=n * float(step))).isoformat())
        deadline = time.monotonic() + 60
        while held.exists() and time.monotonic() < deadline:
            time.sleep(0.02)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Two beats by mistake, on a driven clock: ten minutes of sweeps from two processes at once,
a real worker making the attempts, a receiver that always fails. No attempt is made twice.

PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED) in the services profile, SQLite's serialised
conditional UPDATE in the embedded one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import server_env
from tests.servers import CeleryWorker
from tests.webhooks.conftest import Receiver
from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint

pytestmark = pytest.mark.usefixtures("transactional_db")

DELIVERIES = 60
STEP = 5  # seconds of driven clock per tick
STEPS = 121  # t0 … t0 + 600 s: attempts 1 (t0) and 2 (t0 + 300 s) fall in it, 3 (t0 + 1 h) not
BEAT = Path(__file__).with_name("drive_beat.py")


def test_two_beats_for_ten_driven_minutes_make_no_attempt_twice(app, tmp_path):
    failing = Receiver(statuses=[500]).start()
    # Small batches, so the two beats' sweeps interleave instead of one taking all at once.
    env = server_env(
        OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{failing.port}", OPENPICKER_WEBHOOK_SWEEP_BATCH="3"
    )
    endpoint = WebhookEndpoint.objects.create(app=app, url=failing.url, actions=["all"])
    events = Event.objects.bulk_create(
        [Event(app=app, action="fp.dialog_open", text={"origin": ""}) for _ in range(DELIVERIES)]
    )
    t0 = timezone.now().replace(microsecond=0)
    # Due at t0 and claimed by nobody yet: only the beats claim them.
    Delivery.objects.bulk_create(
        [Delivery(event=e, endpoint=endpoint, next_attempt_at=t0) for e in events]
    )
    worker = CeleryWorker(env, queues="webhooks")
    try:
        beats = [
            subprocess.Popen(
                # Both start their clocks together (a barrier after Django's start).
                [
                    sys.executable,
                    str(BEAT),
                    t0.isoformat(),
                    str(STEP),
                    str(STEPS),
                    str(tmp_path),
                    "2",
                ],
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        outputs = [beat.communicate(timeout=300)[0].decode() for beat in beats]
        assert [beat.returncode for beat in beats] == [0, 0], outputs
        # Both beats claimed work (they ran together), and the worker drains what they queued.
        claimed = [sum(int(line.split()[0]) for line in out.splitlines()) for out in outputs]
        assert all(claimed), claimed
        deadline = time.monotonic() + 120
        while (
            Attempt.objects.count() < 2 * DELIVERIES
            or Delivery.objects.exclude(lease_token="").exists()
        ):
            assert worker.process.poll() is None, worker.output()
            assert time.monotonic() < deadline, (Attempt.objects.count(), worker.output()[-3000:])
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate, were there one, would arrive now
    finally:
        worker.stop()
        failing.stop()
    # Each event reached the receiver exactly twice: attempt 1 at t0, attempt 2 at t0 + 300 s.
    posts = Counter(got.json["id"] for got in failing.received)
    assert posts == Counter({event.pk: 2 for event in events})
    assert Attempt.objects.count() == 2 * DELIVERIES
    for row in Delivery.objects.all():
        attempts = list(row.attempts.order_by("number"))
        assert [a.number for a in attempts] == [1, 2]
        assert attempts[0].started_at == t0
        second = attempts[1].started_at - t0
        assert timedelta(seconds=300) <= second < timedelta(seconds=300 + STEP), second
        assert (row.status, row.scheduled_attempts) == ("pending", 2)
        assert row.next_attempt_at == t0 + timedelta(seconds=3600)

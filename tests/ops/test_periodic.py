"""Two beats by mistake: every periodic job claims its work, so none is done twice.

The jobs run concurrently in separate processes (as two beats' tasks would, on two workers)
against the test database; what each did is added up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from openpicker.celery import app as celery_app
from openpicker.models import Claim, claim, release
from picker.models import MultipartUpload
from tests.conftest import server_env
from tests.servers import ROOT

pytestmark = pytest.mark.usefixtures("transactional_db")

# Each periodic task and the test here (or elsewhere) showing that two runs at once share its
# work: a new periodic task must be added here, with its proof.
PROVEN = {
    "picker.tasks.expire_multipart_uploads": "test_two_sweepers_expire_each_upload_once",
    "providers.instagram.refresh_tokens": (
        "test_claims_are_exclusive_across_processes and "
        "tests/providers/test_instagram_refresh.py::test_a_connection_another_run_holds_is_left"
    ),
    "webhooks.deliver_due": (
        "tests/webhooks/test_sweepers.py::test_two_sweepers_claim_each_delivery_once"
    ),
}


def test_every_periodic_job_has_its_proof():
    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert scheduled == set(PROVEN)


def run_concurrently(code: str, copies: int = 2) -> list:
    """Run `code` (which prints one JSON value) in `copies` Django processes at once."""
    script = (
        "import django, json, os, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'openpicker.settings')\n"
        "django.setup()\n"
        "sys.stdin.read(1)\n" + code  # wait for the go: every copy is set up before any starts
    )
    env = {**__import__("os").environ, **server_env()}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(copies)
    ]
    for process in processes:
        process.stdin.write("g")
        process.stdin.flush()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-4000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_sweepers_expire_each_upload_once(app):
    old = timezone.now() - timedelta(days=3)
    MultipartUpload.objects.bulk_create(
        MultipartUpload(upload_id=f"abandoned-{n}", app=app, filename="x", size=1, created_at=old)
        for n in range(150)
    )
    counts = run_concurrently(
        "from picker.multipart import expire_abandoned\nprint(json.dumps(expire_abandoned()))\n"
    )
    assert sum(counts) == 150, counts
    assert not MultipartUpload.objects.exists()


def test_claims_are_exclusive_across_processes():
    names = [f"job:{n}" for n in range(200)]
    taken = run_concurrently(
        "from openpicker.models import claim\n"
        f"names = {names!r}\n"
        "print(json.dumps([name for name in names if claim(name, 60)]))\n",
        copies=3,
    )
    flat = [name for each in taken for name in each]
    assert sorted(flat) == sorted(names)  # every claim taken, none twice


def test_a_claim_is_free_again_once_its_time_is_past_or_released():
    now = timezone.now()
    assert claim("job", 60, now)
    assert not claim("job", 60, now + timedelta(seconds=59))
    assert claim("job", 60, now + timedelta(seconds=61))
    release("job")
    assert claim("job", 60, now)
    assert Claim.objects.count() == 1

"""Who starts a rendition job: the web process when it has a free slot, else the queue; a second
delivery of a job a live process works on costs no attempt."""

import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from conversions import jobs, renditions
from conversions.models import Rendition
from picker.models import FileLink
from tests.conftest import body
from tests.conversions.conftest import image_bytes, open_image

STALE = timedelta(seconds=300)


@pytest.fixture
def pending(app, store):
    handle = store(app, image_bytes((64, 48)), filename="p.jpg").json()["handle"]
    link = FileLink.objects.get(handle=handle)
    return Rendition.objects.create(source=link, version=link.version, spec="flip")


def gone_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_second_delivery_of_a_live_start_costs_no_attempt(pending):
    first = jobs.start(pending.pk, STALE)
    assert (first.attempts, first.started_by) == (1, jobs.starter())
    # This process is alive and started it a moment ago: a duplicate delivery leaves it alone.
    assert jobs.start(pending.pk, STALE) is None
    pending.refresh_from_db()
    assert (pending.attempts, pending.started_at) == (1, first.started_at)


def test_a_fresh_row_is_started_with_one_update_unless_another_start_won(pending):
    fresh = Rendition.objects.select_related("source").get(pk=pending.pk)
    # Another process started the same row meanwhile: the compare-and-set finds it started.
    Rendition.objects.filter(pk=pending.pk).update(
        attempts=1, started_at=timezone.now(), started_by="elsewhere:1"
    )
    assert jobs.start(pending.pk, STALE, fresh) is None
    assert Rendition.objects.get(pk=pending.pk).attempts == 1
    # A row nobody started: started here, the instance given back with the start recorded.
    Rendition.objects.filter(pk=pending.pk).update(attempts=0, started_at=None, started_by="")
    started = jobs.start(pending.pk, STALE, fresh)
    assert started is fresh and (fresh.attempts, fresh.started_by) == (1, jobs.starter())
    stored = Rendition.objects.get(pk=pending.pk)
    assert (stored.attempts, stored.started_at, stored.started_by) == (
        1,
        fresh.started_at,
        jobs.starter(),
    )


def test_a_start_whose_process_is_gone_is_taken_over(pending):
    host = socket.gethostname()
    Rendition.objects.filter(pk=pending.pk).update(
        attempts=1, started_at=timezone.now(), started_by=f"{host}:{gone_pid()}"
    )
    again = jobs.start(pending.pk, STALE)
    assert (again.attempts, again.started_by) == (2, jobs.starter())


def test_a_start_on_another_machine_counts_as_alive_until_stale(pending):
    Rendition.objects.filter(pk=pending.pk).update(
        attempts=1, started_at=timezone.now(), started_by="elsewhere:1"
    )
    assert jobs.start(pending.pk, STALE) is None
    Rendition.objects.filter(pk=pending.pk).update(
        started_at=timezone.now() - STALE - timedelta(seconds=1)
    )
    assert jobs.start(pending.pk, STALE).attempts == 2


def test_a_finished_job_is_not_started(pending):
    Rendition.objects.filter(pk=pending.pk).update(status=Rendition.Status.READY)
    assert jobs.start(pending.pk, STALE) is None
    assert Rendition.objects.get(pk=pending.pk).attempts == 0


def test_liveness_of_starters():
    assert jobs.starter_alive(jobs.starter())
    assert not jobs.starter_alive(f"{socket.gethostname()}:{gone_pid()}")
    assert jobs.starter_alive("another-host:1")
    assert jobs.starter_alive("")  # no pid to check: alive until stale


def timed_get(client, url: str):
    """(response, seconds it took)."""
    began = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - began


def test_renditions_beyond_the_free_slots_go_to_the_queue(
    converting, client, app, store, settings, published
):
    settings.OPENPICKER_CONVERT_INLINE = 1
    settings.OPENPICKER_CONVERT_QUEUE_AFTER = 0.3
    photo = store(app, image_bytes((300, 200)), filename="p.jpg").json()["handle"]
    # A free slot: computed by this (web) process, nothing sent to the broker.
    first = client.get(f"/cdn/resize=width:30/{photo}")
    assert first.status_code == 200 and open_image(body(first)).width == 30
    assert published == []
    # The slot busy (another request computing) for longer than the request waits for one:
    # it is queued and the worker does it.
    busy = jobs.slots()
    assert busy.acquire(blocking=False)
    try:
        second, waited = timed_get(client, f"/cdn/resize=width:40/{photo}")
    finally:
        busy.release()
    assert second.status_code == 200 and open_image(body(second)).width == 40
    assert published == ["conversions.render"]
    assert waited >= 0.3  # it waited for the slot first
    workers = {row.started_by for row in Rendition.objects.all()}
    assert len(workers) == 2 and jobs.starter() in workers


def test_a_rendition_waits_for_a_slot_that_frees_up_instead_of_going_to_the_queue(
    converting, client, app, store, settings, published
):
    settings.OPENPICKER_CONVERT_INLINE = 1
    settings.OPENPICKER_CONVERT_QUEUE_AFTER = 10
    photo = store(app, image_bytes((300, 200)), filename="p.jpg").json()["handle"]
    busy = jobs.slots()
    assert busy.acquire(blocking=False)
    freed = threading.Timer(0.3, busy.release)
    freed.start()
    try:
        response, waited = timed_get(client, f"/cdn/resize=width:50/{photo}")
    finally:
        freed.join()
    assert response.status_code == 200 and open_image(body(response)).width == 50
    assert published == []  # nothing went to the broker
    assert {row.started_by for row in Rendition.objects.all()} == {jobs.starter()}
    assert 0.3 <= waited < 10


def test_a_job_that_breaks_in_the_web_process_is_handed_to_the_queue(
    converting, app, store, settings, published
):
    settings.OPENPICKER_CONVERT_INLINE = 1
    handle = store(app, image_bytes((64, 48)), filename="p.jpg").json()["handle"]
    link = FileLink.objects.get(handle=handle)
    row = Rendition.objects.create(source=link, version=link.version, spec="flip")

    def broken(rendition_id, fresh):
        assert jobs.start(rendition_id, STALE, fresh) is fresh
        raise OSError("the storage went away")

    assert jobs.run_here(row, broken) is False
    row.refresh_from_db()
    # The claim is released, so the queue's worker (or the next request) can start it at once.
    assert (row.status, row.attempts, row.started_at, row.started_by) == ("pending", 1, None, "")
    assert jobs.slots().acquire(blocking=False)  # the slot was given back
    jobs.slots().release()
    renditions.compute(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("ready", 2)


def test_a_late_second_run_keeps_the_object_of_the_first(pending, stored_keys):
    # A stale job queued again while its first run still went on: both write the rendition's
    # one key; the later one finds the row ready and must not delete what the row points to.
    from conversions.engine import render
    from conversions.operations import Flip
    from picker import files

    late = Rendition.objects.select_related("source").get(pk=pending.pk)
    renditions.compute(pending.pk)
    ready = Rendition.objects.get(pk=pending.pk)
    assert ready.status == "ready" and ready.key in stored_keys()
    with files.open_bytes(late.source) as source:
        result = render(source, [Flip()])
    assert renditions._store(late, result) is False
    assert ready.key in stored_keys()
    assert Rendition.objects.get(pk=pending.pk).key == ready.key

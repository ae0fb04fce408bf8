"""Starting a rendition job: who may start it, and computing it in the web process.

A job is started by a Celery worker (the conversions queue) or, when one of its slots is free,
by the web process that claimed it (`run_here`): an uncached rendition then costs about what the
engine costs, without the queue hop. Either way `start` claims the row first:

- each start counts as an attempt, so a job whose process dies (killed, out of memory) is given
  up after OPENPICKER_CONVERT_ATTEMPTS starts;
- a second delivery of a job whose last start is recent and whose process is still alive (a
  broker that delivers twice, two requeues of a stale job delivered together) leaves it alone
  and costs no attempt. A start by another machine counts as alive until the job is stale.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from conversions.models import Rendition

logger = logging.getLogger(__name__)

_slots: dict[int, threading.BoundedSemaphore] = {}
_running: dict[int, threading.Event] = {}
_lock = threading.Lock()


def starter() -> str:
    """This process, as the row records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def starter_alive(started_by: str) -> bool:
    """Whether the process that started a job may still be working on it.

    Only a process on this machine can be checked: one that is gone (or a zombie waiting for
    its parent) is not alive; a start by another machine counts as alive.
    """
    host, _, pid = started_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def start(rendition_id: int, stale_after, fresh: Rendition | None = None) -> Rendition | None:
    """Claim a start of a pending job (one more attempt), or None when it must not start here:
    it is no longer pending, or a live process started it less than `stale_after` ago.

    `fresh` is the row as this process just created it (never started, its source loaded):
    then the claim is one conditional UPDATE, without reading the row before or after."""
    unstarted = fresh is not None and fresh.started_at is None
    seen = (
        fresh
        if unstarted
        else Rendition.objects.filter(pk=rendition_id, status=Rendition.Status.PENDING)
        .only("started_at", "started_by")
        .first()
    )
    if seen is None:
        return None
    now = timezone.now()
    at_work = seen.started_at is not None and seen.started_at > now - stale_after
    if at_work and starter_alive(seen.started_by):
        return None
    # Compare and set on the start seen: of two deliveries racing here, one starts.
    me = starter()
    claimed = Rendition.objects.filter(
        pk=rendition_id, status=Rendition.Status.PENDING, started_at=seen.started_at
    ).update(attempts=F("attempts") + 1, started_at=now, started_by=me)
    if not claimed:
        return None
    if unstarted:
        # Nobody started it before (the UPDATE matched started_at IS NULL), so nobody counted
        # an attempt either: the row is what this process created, plus this start.
        fresh.attempts, fresh.started_at, fresh.started_by = fresh.attempts + 1, now, me
        return fresh
    return Rendition.objects.select_related("source").get(pk=rendition_id)


def slots() -> threading.BoundedSemaphore | None:
    """This process's slots for computing renditions (OPENPICKER_CONVERT_INLINE), or None."""
    size = settings.OPENPICKER_CONVERT_INLINE
    if size <= 0:
        return None
    with _lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


def run_here(rendition: Rendition, compute) -> bool:
    """Compute the job of a row this process just created (`compute(id, fresh=row)`) when one
    of its slots is free or frees up within OPENPICKER_CONVERT_QUEUE_AFTER seconds; False when
    it must be queued (no slot in time, or the computation broke in a way the queue may get
    past: its claim is released).

    The request waits for its rendition either way. Waiting here for a slot costs nothing but
    the wait; queued at once, the job also paid the broker's hop and a second process decoding
    on the same cores: 8 clients got 0.48x of cores / engine time that way, 0.69x waiting here
    (benchmarks/README.md).
    """
    rendition_id = rendition.pk
    free = slots()
    if free is None or not free.acquire(timeout=settings.OPENPICKER_CONVERT_QUEUE_AFTER):
        return False
    done = threading.Event()
    with _lock:
        _running[rendition_id] = done
    try:
        compute(rendition_id, fresh=rendition)
        return True
    except Exception:
        logger.exception("rendition %s failed in the web process; queued instead", rendition_id)
        Rendition.objects.filter(
            pk=rendition_id, status=Rendition.Status.PENDING, started_by=starter()
        ).update(started_at=None, started_by="")
        return False
    finally:
        with _lock:
            _running.pop(rendition_id, None)
        done.set()
        free.release()


def pause(rendition_id: int, poll: float, deadline: float) -> None:
    """Wait before looking at the row again: when this process computes it, until it is done
    (woken at once) or the monotonic `deadline`; when another process does, `poll` seconds."""
    with _lock:
        done = _running.get(rendition_id)
    remaining = max(0.0, deadline - time.monotonic())
    if done is None:
        time.sleep(min(poll, remaining))
    else:
        done.wait(remaining)

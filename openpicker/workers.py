"""A gunicorn gthread worker that spreads open connections evenly across the web workers.

gthread workers all watch the one listening socket and accept greedily (benoitc/gunicorn#3433):
when a client opens 16 keep-alive connections in a burst (wrk, a proxy's pool), which worker
wins each accept is a race, one worker often gets 12-16 of them and keeps them for their whole
life, and one process (one GIL) serves nearly everything (benchmarks/README.md).

`BalancedThreadWorker` (the Procfile's `--worker-class`) publishes its count of open
connections in a table in shared memory, one slot per live worker, and takes a new connection
only when no live sibling has fewer: the others get it. It declines for 50 ms at most while a
connection waits, then takes it anyway, so a hung or dead sibling never starves the listener.
The table is made here at import, in the gunicorn master, which loads the worker class before
forking its workers: every worker inherits it.

Request bodies are also received in steps of `picker.streams.BODY_STEP` (128 KiB) instead of
gunicorn's 1 MiB: every buffer of that size is above the mmap threshold `openpicker.memory` fixes,
so each recv() and each copy gunicorn makes of it mapped fresh pages and faulted them in. A
1 GiB raw store spent most of its time there (benchmarks/README.md, `upload.py`).
"""

from __future__ import annotations

import multiprocessing
import os
import select
import time

from gunicorn.http import body as _body
from gunicorn.http import unreader as _unreader
from gunicorn.workers.gthread import ThreadWorker

from picker.streams import BODY_STEP

# gunicorn's two knobs for how much of a body of known length it receives and copies at once.
_unreader.SocketUnreader.max_body_chunk = BODY_STEP
_body.MAX_READ_STEP = BODY_STEP

SLOTS = 64
# How long a worker leaves a waiting connection to its siblings, and how often it looks again.
DECLINE_BOUND = 0.05
RECHECK = 0.01
LOCK_TIMEOUT = 1.0

try:
    # pids[i]: the worker holding slot i (0: free); conns[i]: its open connections.
    _PIDS = multiprocessing.RawArray("i", SLOTS)
    _CONNS = multiprocessing.RawArray("i", SLOTS)
    _LOCK = multiprocessing.Lock()
except OSError:  # no POSIX semaphores (no /dev/shm): the workers run as stock gthread ones
    _PIDS = _CONNS = _LOCK = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pid went to another user's process; not ours to judge
        return True
    return True


class BalancedThreadWorker(ThreadWorker):
    """gthread, accepting a new connection only when it holds no more than any live sibling."""

    _slot: int | None = None  # this worker's slot in the table, once claimed
    _declined_since: float | None = None  # when it first left a waiting connection to others

    # ThreadWorker sets and counts `nr_conns` everywhere; each change is mirrored into the slot.
    # (Its __init__ sets it in the master, before any slot is claimed.)
    @property
    def nr_conns(self) -> int:
        return self._nr_conns

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        self._nr_conns = value
        if self._slot is not None:
            _CONNS[self._slot] = value

    def init_process(self):
        self._claim()
        # Polled without a timeout: is a connection waiting on a listener?
        self._listening = select.poll()
        for listener in self.sockets:
            self._listening.register(listener.fileno(), select.POLLIN)
        super().init_process()  # runs the worker; it must come last

    def run(self):
        try:
            super().run()
        finally:
            self._leave()

    def _claim(self) -> None:
        """Take a free slot, or one whose worker died; none left: behave as stock gthread."""
        if _LOCK is None or not _LOCK.acquire(timeout=LOCK_TIMEOUT):
            return  # (a worker killed while holding the lock: not worth waiting on)
        try:
            for slot in range(SLOTS):
                pid = _PIDS[slot]
                if pid == 0 or not _alive(pid):
                    _CONNS[slot] = self.nr_conns  # before the pid: readers skip a free slot
                    _PIDS[slot] = os.getpid()
                    self._slot = slot
                    return
        finally:
            _LOCK.release()
        self.log.warning(
            "no free connection-balancing slot: worker %s accepts greedily", os.getpid()
        )

    def _leave(self) -> None:
        """Free the slot: a stopping worker takes no connection, so none waits for it."""
        slot, self._slot = self._slot, None
        if slot is not None and _PIDS[slot] == os.getpid():
            _CONNS[slot] = 0
            _PIDS[slot] = 0

    def _fair(self) -> bool:
        """No live sibling holds fewer connections than this worker."""
        if self._slot is None:
            return True
        mine = self._nr_conns
        for slot, (pid, conns) in enumerate(zip(_PIDS, _CONNS, strict=True)):
            # A dead worker's slot stays until claimed again: it counts only while its pid lives.
            if conns < mine and pid and slot != self._slot and _alive(pid):
                return False
        return True

    def accept(self, listener):
        """Leave the connection to a sibling with fewer, for DECLINE_BOUND at most."""
        if not self._fair():
            now = time.monotonic()
            if self._declined_since is None:
                self._declined_since = now
            if now - self._declined_since < DECLINE_BOUND:
                return  # still waiting: wait_for_and_dispatch_events stops listening a while
        super().accept(listener)

    def wait_for_and_dispatch_events(self, timeout):
        """While a declined connection waits, stop listening and look again every RECHECK.

        run() re-registers the listeners at the top of every loop; an unfair worker with no
        connection waiting keeps them, so it sleeps as long as a stock one (an idle worker
        never spins) and only a new connection wakes it (then accept() declines it).
        """
        if not self.alive:
            self._leave()
        elif self._accepting and self._declined_since is not None:
            if self._fair() or not self._listening.poll(0):
                self._declined_since = None  # taken by a sibling, or ours to take now
            elif time.monotonic() - self._declined_since < DECLINE_BOUND:
                self.set_accept_enabled(False)
                timeout = min(timeout, RECHECK)
            # else: past the bound, accept() takes what waits until the backlog is empty
        super().wait_for_and_dispatch_events(timeout)

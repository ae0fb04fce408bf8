"""openpicker.workers.BalancedThreadWorker under a real gunicorn: 2 workers x 8 threads serving
tests/ops/pid_app.py (each answer is the pid of the worker that served it).

By hand, the same burst against the stock gthread worker (`PidServer("gthread")`) came out
10/6 or worse in 17 of 30 tries, up to 15/1; that is a race, not asserted here.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from openpicker.workers import DECLINE_BOUND
from tests.servers import ROOT, VENV_BIN, free_port, log_tail, stop, wait_for_port

BALANCED = "openpicker.workers.BalancedThreadWorker"
TICKS = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state is [0], ppid [1])."""
    with open(f"/proc/{pid}/stat") as file:
        return file.read().rpartition(")")[2].split()


def cpu_seconds(pid: int) -> float:
    fields = stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def sockets(pid: int) -> set[str]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if link.startswith("socket:"):
            found.add(link)
    return found


def wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


class PidServer:
    """gunicorn serving pid_app: 2 workers x 8 threads, kept-alive connections held 60 s."""

    def __init__(self, worker_class: str = BALANCED):
        self.port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix="gunicorn-pid-", suffix=".log")[1])
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(VENV_BIN / "python"),
                    "-m",
                    "gunicorn",
                    "tests.ops.pid_app:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--threads",
                    "8",
                    "--worker-class",
                    worker_class,
                    "--keep-alive",
                    "60",
                    "--graceful-timeout",
                    "2",
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.held: list[http.client.HTTPConnection] = []
        try:
            wait_for_port(self.port, self.process)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def workers(self) -> set[int]:
        pids = set()
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and int(stat(int(entry))[1]) == self.process.pid:
                    pids.add(int(entry))
            except (OSError, IndexError):
                continue  # gone meanwhile
        return pids

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def hold(self, count: int) -> list[int]:
        """Open `count` kept-alive connections in a burst, one request on each; held until
        release(). The pids that answered them, in order."""
        conns = [self.connection() for _ in range(count)]
        self.held += conns
        for conn in conns:
            conn.request("GET", "/")
        return [int(conn.getresponse().read()) for conn in conns]

    def release(self) -> None:
        """Close the held connections, and wait until no worker has a connection open."""
        for conn in self.held:
            conn.close()
        self.held = []
        listeners = sockets(self.process.pid)
        wait_until(
            lambda: all(not sockets(pid) - listeners for pid in self.workers()),
            "the workers closed their connections",
        )

    def wait_ready(self, workers: int = 2) -> set[int]:
        """Until every worker has answered (so it runs, and holds its slot): connections
        opened one at a time and held go to each worker in turn."""
        deadline = time.monotonic() + 60
        seen: set[int] = set()
        while not (len(seen) == workers and seen == self.workers()):
            assert self.process.poll() is None, log_tail(self.log_path, "gunicorn log")
            assert time.monotonic() < deadline, log_tail(self.log_path, "gunicorn log")
            if len(self.held) > 32:
                self.release()
            seen.update(self.hold(1))
            seen &= self.workers()  # a worker that died meanwhile
        self.release()
        return seen

    def stop(self) -> None:
        for conn in self.held:
            conn.close()
        stop(self.process)
        self.log_path.unlink(missing_ok=True)


@pytest.fixture
def server():
    started = PidServer()
    yield started
    started.stop()


def assert_even(pids: list[int], workers: set[int]) -> None:
    split = Counter(pids)
    assert set(split) <= workers, (split, workers)
    assert sorted(split.values()) in ([8, 8], [7, 9]), split


def test_a_burst_of_keep_alive_connections_is_split_evenly(server):
    assert_even(server.hold(16), server.workers())


def test_a_hung_worker_does_not_starve_new_connections(server):
    first, hung = server.workers()
    server.hold(4)  # 2/2, most often
    os.kill(hung, signal.SIGSTOP)
    try:
        held_back = []
        for _ in range(8):
            started = time.monotonic()
            assert server.hold(1) == [first]
            elapsed = time.monotonic() - started
            assert elapsed < 1.0
            held_back.append(elapsed >= DECLINE_BOUND * 0.9)
        # While `first` holds no more than the hung one, it takes a connection at once; once it
        # holds more, it leaves each new one to the hung one for DECLINE_BOUND, then takes it.
        # Which of the eight that starts with is not known from here: the hung worker may still
        # count connections the test closed just before it was stopped. After eight more,
        # `first` holds more by any count.
        assert held_back[-1], held_back
    finally:
        os.kill(hung, signal.SIGCONT)
    assert hung in server.hold(4)  # back, and taking its share again


def test_idle_workers_do_not_spin(server):
    # 2/1: one worker holds more than the other, so it is the one declining while idle.
    assert sorted(Counter(server.hold(3)).values()) == [1, 2]
    workers = server.workers()
    before = sum(cpu_seconds(pid) for pid in workers)
    time.sleep(5)  # the measured window
    spent = sum(cpu_seconds(pid) for pid in workers) - before
    assert spent < 0.05, f"{spent:.2f} s of CPU in 5 s idle"


def test_a_killed_worker_is_replaced_and_takes_its_share(server):
    survivor, killed = sorted(server.workers())
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: killed not in server.workers(), "gunicorn reaped the killed worker")
    server.wait_ready()  # the replacement answers: it runs with a slot of its own
    workers = server.workers()
    assert survivor in workers and killed not in workers and len(workers) == 2
    assert_even(server.hold(16), workers)


class RecordingSocket:
    """A socket that has `data` to give and records how much each recv() asked for."""

    def __init__(self, data: bytes):
        self.data, self.asked = data, []

    def recv(self, size: int) -> bytes:
        self.asked.append(size)
        piece, self.data = self.data[:size], self.data[size:]
        return piece


def test_a_body_is_received_and_read_in_steps_under_the_mmap_threshold():
    # With the worker class loaded (as the gunicorn master does), gunicorn asks the socket for
    # at most BODY_STEP at a time and the body hands it on in pieces of that size: buffers of
    # 1 MiB were mapped and unmapped again at every step (benchmarks/README.md, upload.py).
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader

    from openpicker import memory
    from picker.streams import BODY_STEP

    assert BODY_STEP * 2 <= memory.MMAP_THRESHOLD  # a step and its copy stay on the heap
    data = os.urandom(3 * 1024 * 1024 + 5)
    sock = RecordingSocket(data)
    body = Body(LengthReader(SocketUnreader(sock), len(data)))
    pieces = list(iter(lambda: body.read(BODY_STEP), b""))
    assert b"".join(pieces) == data
    assert max(sock.asked) == BODY_STEP
    assert {len(piece) for piece in pieces[:-1]} == {BODY_STEP}

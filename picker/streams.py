"""Readers that pass bytes through once: hashing, counting, capping, base64-decoding.

Uploads flow from the request straight into storage through these, so memory stays flat
whatever the file size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import BinaryIO, NoReturn

from picker.errors import BadRequest, BodyTimeout, TooLarge

CHUNK = 1024 * 1024
# The step in which upload bodies are received, copied and written. With the copies gunicorn
# makes of it, it stays under the mmap threshold openpicker.memory fixes (256 KiB): its buffers
# come from the heap and are reused, where larger ones were mapped, faulted in and unmapped
# again on every step (a 1 GiB raw store spent most of its time there).
BODY_STEP = 128 * 1024
SNIFF_BYTES = 8192
SPOOL_MEMORY = 16 * 1024 * 1024

ReadFn = Callable[[int], bytes]

# Chunks at least this large are hashed on a pool thread while the caller goes on.
PIPELINE_BYTES = 64 * 1024

_digest_pool: tuple[int, ThreadPoolExecutor] | None = None
_digest_pool_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's digest threads (made on first use, again in a forked child)."""
    global _digest_pool
    pool = _digest_pool
    if pool is None or pool[0] != os.getpid():
        with _digest_pool_lock:
            pool = _digest_pool
            if pool is None or pool[0] != os.getpid():
                workers = 2 * (os.cpu_count() or 1) + 2
                pool = (os.getpid(), ThreadPoolExecutor(workers, "openpicker-digest"))
                _digest_pool = pool
    return pool[1]


class PipelinedDigest:
    """A hashlib hash whose large updates run on a pool thread, in order, one at a time.

    hashlib lets go of the GIL while it hashes a large buffer. MD5 has no CPU instruction and
    runs at about 700 MB/s here, SHA-256 at about 1.8 GB/s (SHA-NI): hashed in line, MD5 set an
    upload's pace. Pipelined, the MD5 of one chunk runs beside the next chunk's receive,
    SHA-256 and write. Each update waits for the one before it; a reader abandoned mid-upload
    leaves at most one update running, on a thread that goes back to the pool.
    """

    def __init__(self, digest) -> None:
        self._digest = digest
        self._pending: Future | None = None

    def update(self, data: bytes) -> None:
        self._settle()
        if len(data) < PIPELINE_BYTES:
            self._digest.update(data)
        else:
            self._pending = _pool().submit(self._digest.update, data)

    def hexdigest(self) -> str:
        self._settle()
        return self._digest.hexdigest()

    def _settle(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()


class HashingReader(io.RawIOBase):
    """Read from `read_fn` (after replaying `head`), hashing and counting; refuse past `limit`.

    Not seekable on purpose: storages then stream it instead of rewinding.
    """

    def __init__(self, read_fn: ReadFn, *, head: bytes = b"", limit: int | None = None):
        super().__init__()
        self._read_fn = read_fn
        self._head = head
        self.limit = limit
        self.size = 0
        self._md5 = PipelinedDigest(hashlib.md5(usedforsecurity=False))
        # In line: pipelined too, its hand-offs cost about what it saved.
        self._sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        """`n` bytes, fewer only at the end of the body.

        A short read must not happen earlier: boto3 takes a first read shorter than its
        multipart threshold for a small file and then reads the rest in one call, in memory.
        """
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        parts, got = [], 0
        if self._head:
            head, self._head = self._head[:n], self._head[n:]
            parts.append(head)
            got = len(head)
        while got < n:
            more = self._read_fn(n - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if data:
            self.size += len(data)
            if self.limit is not None and self.size > self.limit:
                raise TooLarge(f"the file is larger than the limit of {self.limit} bytes")
            self._md5.update(data)
            self._sha256.update(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


class Base64Reader:
    """Decode a base64 body (`base64decode=true`) chunk by chunk, whitespace ignored."""

    def __init__(self, read_fn: ReadFn):
        self._read_fn = read_fn
        self._pending = b""
        self._done = False

    def read(self, n: int = CHUNK) -> bytes:
        while not self._done and len(self._pending) < 4:
            self._fill(n)
        usable = (
            len(self._pending) - len(self._pending) % 4 if not self._done else len(self._pending)
        )
        chunk, self._pending = self._pending[:usable], self._pending[usable:]
        if not chunk:
            return b""
        try:
            return base64.b64decode(chunk + b"=" * (-len(chunk) % 4), validate=True)
        except binascii.Error:
            raise BadRequest("the body is not valid base64", code="invalid_base64") from None

    def _fill(self, n: int) -> None:
        data = self._read_fn(max(n, 4))
        if not data:
            self._done = True
            return
        self._pending += b"".join(data.split())


def read_head(read_fn: ReadFn, size: int = SNIFF_BYTES) -> bytes:
    """Read up to `size` bytes (several reads if the source returns short ones)."""
    parts, got = [], 0
    while got < size:
        data = read_fn(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


@contextmanager
def seekable(source: BinaryIO) -> Iterator[BinaryIO]:
    """`source` itself when it can seek from its start, else a lazily spooled copy of it."""
    try:
        usable = source.seekable() and source.tell() == 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        yield source
        return
    with SeekableSpool(source) as spool:
        yield spool  # type: ignore[misc]


class _PositionedReader(io.RawIOBase):
    """A readable, seekable raw stream that keeps its own position; subclasses read at it.

    `_end()` is the stream's length, asked for only by a seek from the end."""

    _position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            offset += self._end()
        elif whence == io.SEEK_CUR:
            offset += self._position
        if offset < 0:
            raise ValueError("negative seek position")
        self._position = offset
        return offset

    def _end(self) -> int:
        raise NotImplementedError


class SeekableSpool(_PositionedReader):
    """A seekable view of a forward-only stream, copied to a spooled file only as far as read.

    Pillow seeks while it identifies and decodes; spooling lazily means a large file that is not
    an image is refused after its first bytes, not after all of it has been downloaded.
    """

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        self._length = 0
        self._position = 0
        self._exhausted = False

    def _end(self) -> int:
        self._fill(None)
        return self._length

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self._fill(self._position + len(buffer))
        self._file.seek(self._position)
        count = self._file.readinto(buffer)
        self._position += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()

    def _fill(self, end: int | None) -> None:
        self._file.seek(self._length)
        while not self._exhausted and (end is None or self._length < end):
            chunk = self._source.read(CHUNK)
            if not chunk:
                self._exhausted = True
            else:
                self._file.write(chunk)
                self._length += len(chunk)


class DeadlineReader:
    """A request body (`wsgi.input`) that must arrive within `deadline` seconds of the request's
    start, with no read waiting longer than `read_timeout`: past either, BodyTimeout (a 408).

    With the server's socket at hand (gunicorn puts it in `gunicorn.socket`), every read gets
    the socket timeout, and a watchdog shuts the socket's read side at the deadline: a read
    that blocks, or a client that trickles a byte just under the timeout (the server's body
    reader loops until it has all it asked for), then ends at once instead of holding the
    thread. Without a socket, the deadline is checked between reads only.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        deadline: float,
        read_timeout: float,
        sock: socket.socket | None = None,
        length: int | None = None,
    ):
        self._stream = stream
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._sock = sock
        self._started = time.monotonic()
        self._remaining = length
        self._watchdog: threading.Timer | None = None
        self._expired = False

    def read(self, size: int = -1) -> bytes:
        return self._timed(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._timed(self._stream.readline, size)

    def close(self) -> None:
        """Stop the watchdog (the application is done with the body)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _timed(self, read: Callable[[int], bytes], size: int) -> bytes:
        left = self._deadline - (time.monotonic() - self._started)
        if self._expired or left <= 0:
            self._expire()
        if self._sock is None:
            return self._counted(read(size))
        if self._watchdog is None:
            self._watchdog = threading.Timer(left, self._cut)
            self._watchdog.daemon = True
            self._watchdog.start()
        prior = self._sock.gettimeout()
        self._sock.settimeout(min(self._read_timeout, left))
        try:
            data = read(size)
        except TimeoutError:
            raise BodyTimeout(
                f"no byte of the request body came for {self._read_timeout:g} seconds"
            ) from None
        except OSError:
            if self._expired:
                self._expire()
            raise
        finally:
            try:
                self._sock.settimeout(prior)
            except OSError:
                pass
        if self._expired:
            self._expire()
        return self._counted(data)

    def _counted(self, data: bytes) -> bytes:
        if self._remaining is not None:
            self._remaining -= len(data)
            if self._remaining <= 0:
                self.close()
        return data

    def _expire(self) -> NoReturn:
        self._expired = True
        self.close()
        raise BodyTimeout(f"the request body did not arrive within {self._deadline:g} seconds")

    def _cut(self) -> None:
        """At the deadline: end any read in progress (the answer can still be written)."""
        self._expired = True
        try:
            # The plain socket's shutdown: ssl.SSLSocket's own would drop the TLS layer.
            socket.socket.shutdown(self._sock, socket.SHUT_RD)
        except OSError:
            pass


class ReadBudgetExceeded(OSError):
    """A header reader asked for more bytes than its budget (an OSError, as Pillow expects)."""


class RangeReader(_PositionedReader):
    """A seekable reader over an object of known size that fetches only the ranges read.

    `fetch(start, end)` yields bytes [start, end] inclusive (storage.read_range: a ranged GET on
    S3). Pillow opens an image from it reading the header and seeking to what the header points
    at (a TIFF's directory at the end of the file), never the rest. `fetched` counts the bytes
    fetched; past `budget`, a read raises ReadBudgetExceeded instead.
    """

    def __init__(
        self,
        fetch: Callable[[int, int], Iterator[bytes]],
        size: int,
        *,
        budget: int | None = None,
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self._size = size
        self._position = 0
        self.budget = budget
        self.fetched = 0

    def _end(self) -> int:
        return self._size

    def readinto(self, buffer) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        if self.budget is not None and self.fetched + wanted > self.budget:
            raise ReadBudgetExceeded(f"reading more than {self.budget} bytes of the header")
        view = memoryview(buffer).cast("B")
        got = 0
        chunks = self._fetch(self._position, self._position + wanted - 1)
        try:
            for chunk in chunks:
                chunk = chunk[: wanted - got]
                view[got : got + len(chunk)] = chunk
                got += len(chunk)
                if got == wanted:
                    break
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # ends the GET (or closes the file) of a generator left early
        self._position += got
        self.fetched += got
        return got

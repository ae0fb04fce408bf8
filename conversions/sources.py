"""The head of a source, for checks in the web process: ranged reads, never the whole file.

Before a conversion is queued the web process opens the source's header with Pillow (which
reads sizes and format lazily) to refuse non-images, bombs and chains over budget at once. A
stored object is read by HTTP ranges (or file seeks) of one block at a time, only where Pillow
looks; a symlink's source URL is read from its start. Either way at most HEADER_BYTES are read:
a header that needs more (a JPEG with megabytes of APP segments; WebP and AVIF, which Pillow
reads whole) is left to the worker, which checks the same limits before decoding.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from picker import files, storage
from picker.models import FileLink
from picker.streams import SeekableSpool

HEADER_BYTES = 4 * 1024 * 1024
# One S3 range request covers a PNG's, GIF's or BMP's header and most JPEGs' (EXIF, ICC).
BLOCK = 64 * 1024
FetchRange = Callable[[int, int], bytes]


class HeaderBeyondLimit(Exception):
    """Reading the header would take more than HEADER_BYTES (not an error of the file)."""


class RangeReader(io.RawIOBase):
    """A seekable reader over an object of known size that fetches the ranges read, by block."""

    def __init__(self, fetch: FetchRange, size: int, limit: int = HEADER_BYTES) -> None:
        super().__init__()
        self._fetch = fetch
        self._size = size
        self._limit = limit
        self._position = 0
        self._blocks: dict[int, bytes] = {}
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer) -> int:  # type: ignore[override]
        end = min(self._position + len(buffer), self._size)
        if end <= self._position:
            return 0
        first, last = self._position // BLOCK, (end - 1) // BLOCK
        missing = [index for index in range(first, last + 1) if index not in self._blocks]
        if missing:
            self._load(missing[0], missing[-1])
        # Pillow reads headers a few bytes at a time: slice the one block, join only when needed.
        data = (
            self._blocks[first]
            if first == last
            else b"".join(self._blocks[index] for index in range(first, last + 1))
        )
        start = self._position - first * BLOCK
        count = end - self._position
        buffer[:count] = data[start : start + count]
        self._position = end
        return count

    def _load(self, first: int, last: int) -> None:
        start, end = first * BLOCK, min((last + 1) * BLOCK, self._size) - 1
        if self.bytes_read + (end - start + 1) > self._limit:
            raise HeaderBeyondLimit(f"the header reaches past {self._limit} bytes")
        data = self._fetch(start, end)
        self.bytes_read += len(data)
        for index in range(first, last + 1):
            offset = (index - first) * BLOCK
            self._blocks[index] = data[offset : offset + BLOCK]


class _Capped:
    """A forward reader that refuses to go past `limit` bytes (for a URL read from its start)."""

    def __init__(self, source, limit: int) -> None:
        self._source = source
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            raise HeaderBeyondLimit("the header reaches past the bytes a probe may read")
        data = self._source.read(min(BLOCK, self._left) if n < 0 else min(n, BLOCK, self._left))
        self._left -= len(data)
        return data


@contextmanager
def open_head(link: FileLink) -> Iterator[io.RawIOBase]:
    """A seekable reader over the file for header checks; reading past HEADER_BYTES raises
    HeaderBeyondLimit."""
    if link.kind == FileLink.Kind.STORED:
        location = storage.location_of(link)
        size = link.size if link.size is not None else location.storage.size(link.key)

        def fetch(start: int, end: int) -> bytes:
            return b"".join(storage.read_range(location, link.key, start, end))

        with RangeReader(fetch, size) as reader:
            yield reader
        return
    with files.open_bytes(link) as source, SeekableSpool(_Capped(source, HEADER_BYTES)) as spool:
        yield spool

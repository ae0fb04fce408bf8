"""The head of a source, for checks in the web process: ranged reads, never the whole file.

Before a conversion is queued the web process opens the source's header with Pillow (which
reads sizes and format lazily) to refuse non-images, bombs and chains over budget at once. A
stored object is read by HTTP ranges (or file seeks) of one block at a time, only where Pillow
looks (picker.streams.RangeReader); a symlink's bytes are read from their start. Either way at
most HEADER_BYTES are read: a header that needs more (a JPEG with megabytes of APP segments;
WebP and AVIF, which Pillow reads whole) is left to the worker, which checks the same limits
before decoding.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from picker import files, storage
from picker.models import FileLink
from picker.streams import RangeReader, ReadBudgetExceeded, SeekableSpool

HEADER_BYTES = 4 * 1024 * 1024
# One S3 range request covers a PNG's, GIF's or BMP's header and most JPEGs' (EXIF, ICC).
BLOCK = 64 * 1024


class _Capped:
    """A forward reader that refuses to go past `limit` bytes (for a URL read from its start)."""

    def __init__(self, source, limit: int) -> None:
        self._source = source
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            raise ReadBudgetExceeded(f"reading more than {HEADER_BYTES} bytes of a header")
        data = self._source.read(min(BLOCK, self._left) if n < 0 else min(n, BLOCK, self._left))
        self._left -= len(data)
        return data


@contextmanager
def open_head(link: FileLink) -> Iterator[io.IOBase]:
    """A seekable reader over the file for header checks; reading past HEADER_BYTES raises
    ReadBudgetExceeded."""
    if link.kind == FileLink.Kind.STORED:
        location = storage.location_of(link)
        size = link.size if link.size is not None else location.storage.size(link.key)
        raw = RangeReader(
            lambda start, end: storage.read_range(location, link.key, start, end),
            size,
            budget=HEADER_BYTES,
        )
        with io.BufferedReader(raw, BLOCK) as reader:
            yield reader
        return
    with files.open_bytes(link) as source, SeekableSpool(_Capped(source, HEADER_BYTES)) as spool:
        yield spool

"""Small objects of the instance's storage kept in memory, per web process.

Reading a 2 KiB file or a cached 400 px rendition from S3 is a GET per request: on the
services setup that GET was nearly all of the request (benchmarks/README.md, `api.py
--services`). On the filesystem it is an open, a read and a close through the storage backend,
about a tenth of a 2 KiB read's Python time on the embedded defaults. An object is immutable
under its key and ETag (an overwrite bumps the version in the ETag; a rendition's key and ETag
are its content's), so its bytes can be kept and served again without reading them again: a
least-recently-used set of objects up to OPENPICKER_SMALL_OBJECT_CACHE bytes in all (0: off),
each at most `SMALL_FILE` bytes.

Only the instance storage's objects are kept, never those of an app's own bucket (its
credentials, not the key, decide who may read it). Every request is authorized (the link looked
up, its app's key or policy checked) before it gets here, and a removed link is refused before
its bytes are looked for: the cache only saves the read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.conf import settings

from picker import storage
from picker.storage import Location

# An object up to this size is answered in one piece rather than streamed.
SMALL_FILE = 128 * 1024


class ObjectCache:
    """A thread-safe LRU of bytes by key, bounded by their total size."""

    def __init__(self, budget: int):
        self.budget = budget
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple, data: bytes) -> None:
        if len(data) > self.budget:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= len(old) if old is not None else 0
            self._items[key] = data
            self._size += len(data)
            while self._size > self.budget:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)

    @property
    def size(self) -> int:
        return self._size


_cache: ObjectCache | None = None
_cache_lock = threading.Lock()


def cache() -> ObjectCache | None:
    """This process's cache, sized by the setting (None when it is 0)."""
    global _cache
    budget = settings.OPENPICKER_SMALL_OBJECT_CACHE
    if budget <= 0:
        return None
    kept = _cache
    if kept is not None and kept.budget == budget:
        return kept  # every request after the first: no lock
    with _cache_lock:
        if _cache is None or _cache.budget != budget:
            _cache = ObjectCache(budget)
        return _cache


def small_object(location: Location, key: str, etag: str, size: int) -> bytes:
    """The whole bytes of a small object (any storage): from memory when the instance
    storage's object was read before under this ETag, else one read (kept when it may be)."""
    keepable = (
        location.target is None
        and len(etag.strip('"')) >= 32  # a digest in it (a row without one is never kept)
    )
    kept = cache() if keepable else None
    name = (location.container, key, etag)
    if kept is not None and (data := kept.get(name)) is not None:
        return data
    # Its `size` bytes, asked for as such: an open-ended read allocates a whole chunk (1 MiB)
    # per call, 80 µs for a 2 KiB file against 16 µs.
    data = b"".join(storage.read_range(location, key, 0, size - 1))
    if kept is not None:
        kept.put(name, data)
    return data

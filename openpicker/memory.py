"""glibc malloc settings for processes that move large buffers (uploads, S3 parts, images).

glibc serves a request of 128 KiB or more with mmap, and returns it to the system on free; but
on the first such free it raises that threshold to the freed size (up to 32 MiB). After one
8 MiB S3 part or 1 MiB read, every later buffer of that size comes from the heap instead, where
what is freed between two parts stays in the process: a gunicorn worker moving a 512 MiB upload
to S3 grew by 55 MB over its idle size, 30 MB with the threshold fixed (benchmarks/README.md).
Fixing it (M_MMAP_THRESHOLD) turns the adjustment off. `MALLOC_MMAP_THRESHOLD_` in the
environment, glibc's own switch, wins when set.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024


def tune() -> bool:
    """Fix glibc's mmap threshold in this process; False where there is nothing to tune."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))

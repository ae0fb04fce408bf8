"""The widget's static files, served under content-hashed names so browsers may keep them forever.

A file's name carries the first 12 hex digits of the SHA-256 of its bytes; a request for any other
digest is a 404, so a stale page never gets new code under an old name (or the reverse).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "static" / "widget"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
ASSETS = ("filepicker.js", "dialog.js", "md5.js", "dialog.css")


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    digest: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[Path(self.name).suffix]

    @property
    def hashed_name(self) -> str:
        """`dialog.js` → `dialog.3f2a1b9c8d7e.js`."""
        stem, suffix = self.name.rsplit(".", 1)
        return f"{stem}.{self.digest}.{suffix}"


@cache
def asset(name: str) -> Asset:
    """One of ASSETS, read once per process (a deploy restarts the processes)."""
    if name not in ASSETS:
        raise KeyError(name)
    body = (FOLDER / name).read_bytes()
    return Asset(name, body, hashlib.sha256(body).hexdigest()[:12])

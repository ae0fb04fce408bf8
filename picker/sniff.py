"""Mimetypes from content first: the client's claim is only a hint, and never for media."""

from __future__ import annotations

import mimetypes
import re

import filetype

_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
# Served with a sandboxing CSP and nosniff; see picker.responses.
ACTIVE_CONTENT = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
    }
)


def _claim_ok(mime: str | None) -> bool:
    """A claimed type is usable unless it claims to be media, which only the bytes can prove."""
    return (
        bool(mime)
        and bool(_MIME_RE.match(mime))
        and (mime == "image/svg+xml" or not mime.startswith(("image/", "video/", "audio/")))
    )


def detect_mimetype(head: bytes, filename: str, declared: str | None = None) -> str:
    """The file's type: magic bytes, else the filename's extension, else the client's claim."""
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    guessed = mimetypes.guess_type(filename, strict=False)[0]
    if _claim_ok(guessed):
        return guessed
    declared = (declared or "").split(";")[0].strip().lower()
    if _claim_ok(declared) and declared != "application/x-www-form-urlencoded":
        return declared
    if head and _is_text(head):
        return "text/plain"
    return "application/octet-stream"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3
    return True

"""Filenames and storage keys: validated before anything is written.

Filestack's default key is `<random>_<filename>`; a `path` ending in `/` is a folder for that
default name, any other `path` is the whole key. Path tricks are refused, not cleaned up.
"""

from __future__ import annotations

import re
import secrets

from picker.errors import InvalidFilename, InvalidPath

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_FILENAME = 255
MAX_KEY = 1024  # bytes, S3's limit
MAX_SEGMENT = 255  # bytes between slashes: the name limit of common filesystems


def clean_filename(name: str | None, default: str = "untitled") -> str:
    """A filename with no directory part, no `..`, no control characters, or InvalidFilename."""
    if name is None or name.strip() == "":
        return default
    name = name.strip()
    if _CONTROL.search(name):
        raise InvalidFilename("filename contains control characters")
    if "/" in name or "\\" in name:
        raise InvalidFilename("filename must not contain '/' or '\\'")
    if name in {".", ".."}:
        raise InvalidFilename("filename must not be '.' or '..'")
    if len(name.encode()) > MAX_FILENAME:
        raise InvalidFilename(f"filename is longer than {MAX_FILENAME} bytes")
    return name


def clean_path(path: str | None) -> str | None:
    """A relative storage path without `.`/`..` segments, backslashes or control characters."""
    if path is None or path == "":
        return None
    if _CONTROL.search(path) or "\\" in path:
        raise InvalidPath("path contains control characters or '\\'")
    folder = path.endswith("/")
    segments = [segment for segment in path.strip("/").split("/")]
    if any(segment in {".", ".."} for segment in segments):
        raise InvalidPath("path must not contain '.' or '..' segments")
    if any(segment == "" for segment in segments) and path.strip("/"):
        raise InvalidPath("path must not contain empty segments")
    if any(len(segment.encode()) > MAX_SEGMENT for segment in segments):
        raise InvalidPath(f"path segments must not be longer than {MAX_SEGMENT} bytes")
    cleaned = "/".join(segments) + ("/" if folder and segments != [""] else "")
    if len(cleaned.encode()) > MAX_KEY:
        raise InvalidPath(f"path is longer than {MAX_KEY} bytes")
    return cleaned or None


def build_key(filename: str, path: str | None = None, prefix: str = "") -> str:
    """The storage key for a new object (see the module docstring)."""
    token = secrets.token_urlsafe(15)
    # A long filename loses its start, not its extension, so the name fits in one segment.
    tail = filename.encode()[-(MAX_SEGMENT - len(token) - 1) :].decode("utf-8", "ignore")
    default_name = f"{token}_{tail}"
    cleaned = clean_path(path)
    if cleaned is None:
        key = default_name
    elif cleaned.endswith("/"):
        key = cleaned + default_name
    else:
        key = cleaned
    key = f"{prefix.strip('/')}/{key}" if prefix.strip("/") else key
    if len(key.encode()) > MAX_KEY:
        raise InvalidPath(f"the storage key would be longer than {MAX_KEY} bytes")
    return key

"""Streaming a file's bytes to the client: Range, ETag, attachment, and a sandboxing CSP."""

from __future__ import annotations

import re

from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from picker import storage
from picker.errors import RangeNotSatisfiable
from picker.models import FileLink
from picker.objectcache import SMALL_FILE, small_object
from picker.sniff import ACTIVE_CONTENT
from picker.storage import Stored
from picker.streams import CHUNK

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# No object has more bytes than a 19-digit number counts (int64): a longer number (leading zeros
# too) is absurd, and refused before int() spends time on it or raises past 4,300 digits.
RANGE_MAX_DIGITS = 19


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One satisfiable byte range (inclusive), None for the whole file; multi-ranges → whole."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if max(len(first), len(last)) > RANGE_MAX_DIGITS:
        raise RangeNotSatisfiable(f"a number of the range {header[:40]}... is absurdly large")
    if first == "":
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(f"the range {header} is empty")
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or start > end:
        raise RangeNotSatisfiable(f"the range {header} is outside the file's {size} bytes")
    return start, end


def _headers(response: HttpResponse, item: Stored | FileLink, download: bool, cache: str) -> None:
    response["ETag"] = item.etag
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = cache
    response["Content-Disposition"] = content_disposition_header(download, item.filename)
    response["X-File-Name"] = item.filename.encode("ascii", "replace").decode()
    response["X-Content-Type-Options"] = "nosniff"
    if item.mimetype in ACTIVE_CONTENT or not download:
        response["Content-Security-Policy"] = (
            "sandbox; default-src 'none'; style-src 'unsafe-inline'"
        )


def stored_response(request, item: Stored, *, download: bool, cache: str) -> HttpResponse:
    """200/206/304 for an object in storage; the body streams in chunks."""
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH", "")
    if if_none_match and (if_none_match.strip() == "*" or item.etag in if_none_match):
        response = HttpResponse(status=304)
        _headers(response, item, download, cache)
        return response
    byte_range = parse_range(request.META.get("HTTP_RANGE"), item.size)
    if request.method == "HEAD":
        response = HttpResponse(content_type=item.mimetype)
        response["Content-Length"] = str(item.size)
    elif byte_range is None:
        if 0 < item.size <= SMALL_FILE:
            # Answered in one piece: on the filesystem a FileResponse and the server's sendfile
            # path cost more than the copy (about 80 µs of a 2 KiB read's 1 ms); on the
            # instance's S3 the bytes may be in memory already (picker.objectcache).
            response = HttpResponse(
                small_object(item.location, item.key, item.etag, item.size),
                content_type=item.mimetype,
            )
        elif (local := _local_file(item)) is not None:
            # A real file: the WSGI server's file_wrapper sends it with sendfile(2) (gunicorn).
            response = FileResponse(local, content_type=item.mimetype)
            response.block_size = CHUNK  # where it cannot (TLS), large reads
        else:
            response = StreamingHttpResponse(
                storage.read_range(item.location, item.key), content_type=item.mimetype
            )
        response["Content-Length"] = str(item.size)
    else:
        start, end = byte_range
        response = StreamingHttpResponse(
            storage.read_range(item.location, item.key, start, end),
            content_type=item.mimetype,
            status=206,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{item.size}"
        response["Content-Length"] = str(end - start + 1)
    _headers(response, item, download, cache)
    return response


def _local_file(item: Stored):
    """The object's file opened for reading when storage is the local filesystem, else None."""
    backend = item.location.storage
    if not isinstance(backend, FileSystemStorage):
        return None
    try:
        return open(backend.path(item.key), "rb")  # noqa: SIM115 - the response closes it
    except OSError:
        return None


def file_response(request, link: FileLink, *, download: bool, cache: str) -> HttpResponse:
    """The bytes of a stored FileLink."""
    item = Stored(
        storage.location_of(link), link.key, link.size or 0, link.etag, link.mimetype, link.filename
    )
    return stored_response(request, item, download=download, cache=cache)


def opened_response(opened, link: FileLink, *, download: bool, cache: str) -> HttpResponse:
    """Stream a symlink's bytes as its opener (picker.openers) reads them from where they live."""
    response = StreamingHttpResponse(
        _closing(opened), content_type=opened.mimetype or link.mimetype
    )
    if opened.size is not None:
        response["Content-Length"] = str(opened.size)
    _headers(response, link, download, cache)
    return response


def _closing(opened):
    try:
        yield from opened.iter_chunks()
    finally:
        opened.close()

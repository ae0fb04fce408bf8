"""The body of a store or overwrite call: raw bytes, multipart `fileUpload`, or form `url=`.

`curl --data-binary @photo.jpg` sends a form content type, so a form body is taken as `url=`
only when it is small and is exactly that; anything else is the file's bytes.

The body is read only once the call is authorized, and a multipart upload spools at most the
size cap that applies (the instance's, lowered by the policy's `maxSize`): past it, what was
spooled is deleted and the answer is a 413.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParserError

from picker.api.payloads import StoreUrl, parse
from picker.errors import BadRequest, TooLarge
from picker.streams import Base64Reader, ReadFn

FORM_URL_MAX = 16 * 1024


@dataclass
class Body:
    read: ReadFn | None
    size: int | None = None
    filename: str | None = None
    mimetype: str | None = None
    url: str | None = None


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Content-Length is not a number", code="invalid_length") from None


def _prepend(head: bytes, read_fn: ReadFn) -> ReadFn:
    pending = [head]

    def read(n: int) -> bytes:
        if pending[0]:
            data, pending[0] = pending[0][:n], pending[0][n:]
            return data
        return read_fn(n)

    return read


class _Capped:
    """An upload handler that refuses the files of a form once they pass `limit` bytes together,
    deleting what it spooled (Django's parser does not clean up after such an exception)."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.completed: list = []

    def counting(self) -> bool:
        return True

    def receive_data_chunk(self, raw_data, start):
        if self.counting():
            self.received += len(raw_data)
            if self.received > self.limit:
                self.discard()
                raise TooLarge(f"the file is larger than the limit of {self.limit} bytes")
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        done = super().file_complete(file_size)
        if done is not None:
            self.completed.append(done)
        return done

    def discard(self) -> None:
        for spooled in [getattr(self, "file", None), *self.completed]:
            if spooled is not None:
                spooled.close()  # a TemporaryUploadedFile deletes itself on close


class CappedMemoryUpload(_Capped, MemoryFileUploadHandler):
    """Django's in-memory handler (bodies up to FILE_UPLOAD_MAX_MEMORY_SIZE), capped."""

    def counting(self) -> bool:
        return self.activated  # otherwise the chunks go on to the temporary-file handler


class CappedTemporaryUpload(_Capped, TemporaryFileUploadHandler):
    """Django's temporary-file handler (FILE_UPLOAD_TEMP_DIR), capped."""


def spool_limit(max_bytes: int, *, base64decode: bool) -> int:
    """The most bytes of form upload that can hold a file of `max_bytes` bytes."""
    if not base64decode:
        return max_bytes
    encoded = -(-max_bytes // 3) * 4
    return encoded + 2 * -(-encoded // 76)  # MIME base64 breaks lines every 76 characters


def upload_body(request, *, max_bytes: int, base64decode: bool = False) -> Body:
    """What the client sent, without reading a large body into memory; call it once authorized.

    `max_bytes` is the cap on the file (picker.files.size_limit): a form upload stops there.
    """
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    length = _content_length(request)
    if content_type.startswith("multipart/form-data"):
        limit = spool_limit(max_bytes, base64decode=base64decode)
        request.upload_handlers = [
            CappedMemoryUpload(request, limit=limit),
            CappedTemporaryUpload(request, limit=limit),
        ]
        try:
            files, form = request.FILES, request.POST
        except MultiPartParserError as exc:
            raise BadRequest(f"malformed multipart body: {exc}", code="invalid_body") from None
        upload = files.get("fileUpload")
        if upload is None:
            if form.get("url"):
                return Body(read=None, url=parse(StoreUrl, {"url": form["url"]})["url"])
            raise BadRequest("multipart body has no fileUpload field", code="missing_file")
        read = Base64Reader(upload.read).read if base64decode else upload.read
        return Body(
            read=read,
            size=None if base64decode else upload.size,
            filename=upload.name,
            mimetype=upload.content_type,
        )
    if length <= 0:
        raise BadRequest("the body is empty", code="empty_file")
    read_fn: ReadFn = request.read
    if content_type.startswith("application/x-www-form-urlencoded") and length <= FORM_URL_MAX:
        raw = request.read(length)
        if raw.startswith(b"url="):
            try:
                form = parse_qs(raw.decode("utf-8"), strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                form = {}
            if set(form) == {"url"} and len(form["url"]) == 1:
                return Body(read=None, url=parse(StoreUrl, {"url": form["url"][0]})["url"])
        read_fn = _prepend(raw, request.read)
    if base64decode:
        return Body(read=Base64Reader(read_fn).read, mimetype=content_type or None)
    return Body(read=read_fn, size=length, mimetype=content_type or None)

"""The body of a store or overwrite call: raw bytes, multipart `fileUpload`, or form `url=`.

`curl --data-binary @photo.jpg` sends a form content type, so a form body is taken as `url=`
only when it is small and is exactly that; anything else is the file's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from django.http.multipartparser import MultiPartParserError

from picker.api.payloads import StoreUrl, parse
from picker.errors import BadRequest
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


def upload_body(request, *, base64decode: bool = False) -> Body:
    """What the client sent, without reading a large body into memory."""
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    length = _content_length(request)
    if content_type.startswith("multipart/form-data"):
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

"""DRF parsers for the bodies read before the API key in them is known (JSON, forms).

Each refuses a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE by its Content-Length, before a
byte is read: a client without a key can make the server read at most that much. Multipart
bodies carry fields only (files go to the store calls, which authorize before reading them, in
the file API's body reader), and JSON nested deeper than OPENPICKER_JSON_MAX_DEPTH is a 400.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from picker.errors import BadRequest, TooLarge


def check_length(parser_context: dict | None) -> None:
    """Refuse a body over the cap by its declared length (gunicorn and Django read no further).

    DRF reads a JSON or form body through `request.body`, where Django makes the same check
    (RequestDataTooBig, also a 413 "too_large"); a multipart body is read as a stream.
    """
    request = (parser_context or {}).get("request")
    meta = request.META if request is not None else {}
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Content-Length is not a number", code="invalid_length") from None
    cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if cap is not None and length > cap:
        raise TooLarge(f"the body of this call may have at most {cap} bytes")


def too_deep(data, limit: int) -> bool:
    """Whether parsed JSON nests more than `limit` levels (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """JSON with a size cap and a nesting limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        check_length(parser_context)
        limit = settings.OPENPICKER_JSON_MAX_DEPTH
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            # The C decoder raises RecursionError (it never overflows the stack) near the
            # interpreter's recursion limit: far deeper than `limit`, and refused the same way.
            data = json.loads(
                raw.decode(encoding), parse_constant=strict_constant if self.strict else None
            )
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {limit} levels") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if too_deep(data, limit):
            raise ParseError(f"JSON parse error - nested deeper than {limit} levels")
        return data


class FormParser(parsers.FormParser):
    """A urlencoded form with a size cap."""

    def parse(self, stream, media_type=None, parser_context=None):
        check_length(parser_context)
        return super().parse(stream, media_type, parser_context)


class _RefuseFiles(FileUploadHandler):
    """An upload handler for calls that take no file: a file part is a 400, never spooled."""

    def new_file(self, field_name, file_name, *args, **kwargs):
        raise BadRequest(f"this call takes no file (part {field_name!r})", code="unexpected_file")

    def receive_data_chunk(self, raw_data, start):
        return None

    def file_complete(self, file_size):
        return None


class FieldsOnlyMultiPartParser(parsers.MultiPartParser):
    """multipart/form-data with a size cap and fields only."""

    def parse(self, stream, media_type=None, parser_context=None):
        check_length(parser_context)
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            data, files = DjangoMultiPartParser(meta, stream, [_RefuseFiles()], encoding).parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from None
        return parsers.DataAndFiles(data, files)

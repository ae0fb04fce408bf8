"""Request bodies, each declared once as a DRF serializer: the views validate with it and
drf-spectacular documents it, so the two cannot drift.

`parse` turns the first invalid field into the JSON error shape (a 400 whose code names the
kind of value, as the domain checks behind it do).
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from picker import multipart
from picker.errors import BadRequest
from picker.files import MAX_URL, StoreOptions

MAX_SOURCES = 10


def _text(max_length: int, **kwargs) -> serializers.CharField:
    """A string kept as sent (no trimming: a filename's spaces are part of it)."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", not kwargs["required"])
    kwargs.setdefault("allow_blank", not kwargs["required"])
    return serializers.CharField(max_length=max_length, trim_whitespace=False, **kwargs)


class Payload(serializers.Serializer):
    """A request body; `error_codes` gives the error code of a field that is not valid."""

    error_codes: dict[str, str] = {}


class Credentials(Payload):
    """The credentials a JSON or form body may carry (the query's `key` works as well)."""

    apikey = _text(64, help_text="API key")
    policy = _text(8192)
    signature = _text(256)


class RemoveCredentials(Credentials):
    """The legacy remove call's form or JSON body."""

    key = _text(64, help_text="API key")


class StoreParams(Payload):
    """Filestack's store options (`location` S3 only; `region` is accepted and ignored)."""

    location = _text(64, help_text="only S3")
    path = _text(2048)
    container = _text(255)
    access = _text(16, help_text="public or private")
    region = _text(64)
    filename = _text(1024)

    @staticmethod
    def options(values: Mapping | None, **overrides) -> StoreOptions:
        """StoreOptions from validated store params (and a body's own filename/mimetype)."""
        values = dict(values or {})
        values.pop("region", None)
        values.update({name: value for name, value in overrides.items() if value is not None})
        return StoreOptions.build(**values)


class StoreUrl(Payload):
    """A store or overwrite by URL: the server fetches it through the outbound guard."""

    url = _text(MAX_URL, required=True)


class FileUpload(Payload):
    """A store or overwrite as a multipart/form-data body."""

    fileUpload = serializers.FileField()


# A store or overwrite body: the bytes as sent, a multipart `fileUpload`, or a form `url=`.
UPLOAD_BODY = {
    "application/octet-stream": OpenApiTypes.BINARY,
    "multipart/form-data": FileUpload,
    "application/x-www-form-urlencoded": StoreUrl,
}


class MultipartStart(Credentials):
    """/multipart/start: what is coming (name, type, size) and where it will be stored."""

    filename = _text(1024, required=True)
    mimetype = _text(255)
    size = serializers.IntegerField(min_value=1)
    store = StoreParams(required=False)


class MultipartUploadPart(Credentials):
    """/multipart/upload: ask for the signed URL that one part is PUT to."""

    error_codes = {"part": "invalid_part", "size": "invalid_part", "md5": "invalid_md5"}

    upload_id = _text(64, required=True)
    uri = _text(10240)
    region = _text(64)
    part = serializers.IntegerField(min_value=1, max_value=multipart.MAX_PARTS)
    size = serializers.IntegerField(min_value=1, max_value=multipart.MAX_PART_BYTES)
    md5 = _text(64, required=True, help_text="base64 of the part's MD5 digest")


class MultipartPartRef(Payload):
    """A part as /multipart/complete lists it: its number and the ETag its PUT answered."""

    part_number = serializers.IntegerField(min_value=1, max_value=multipart.MAX_PARTS)
    etag = _text(64, required=True)


class MultipartComplete(Credentials):
    """/multipart/complete: assemble the listed parts, in order, into one stored file."""

    error_codes = {"parts": "invalid_parts"}

    upload_id = _text(64, required=True)
    uri = _text(10240)
    region = _text(64)
    filename = _text(1024)
    mimetype = _text(255)
    size = serializers.IntegerField(min_value=1, required=False)
    store = StoreParams(required=False)
    parts = serializers.ListField(
        child=MultipartPartRef(), allow_empty=False, max_length=multipart.MAX_PARTS
    )


class ProcessTask(Payload):
    """A /process task: `store` (its params are store options) or `security`."""

    name = _text(32, required=True, help_text="store or security")
    params = serializers.DictField(required=False)


class Process(Credentials):
    """/process: store the files fetched from `sources` (filestack-python's upload_url)."""

    error_codes = {"sources": "invalid_sources", "tasks": "invalid_tasks"}

    sources = serializers.ListField(
        child=_text(MAX_URL, required=True), min_length=1, max_length=MAX_SOURCES
    )
    tasks = serializers.ListField(child=ProcessTask(), required=False)


def _first_message(errors) -> tuple[list[str], str]:
    """The path to the first error of a (possibly nested) DRF error structure, and its text."""
    if isinstance(errors, Mapping):
        name, inner = next(iter(errors.items()))
        path, message = _first_message(inner)
        return [str(name), *path], message
    if isinstance(errors, list) and errors:
        if isinstance(errors[0], Mapping | list):
            return _first_message(errors[0])
        return [], str(errors[0])
    return [], str(errors)


def parse(payload: type[Payload], data) -> dict:
    """The validated body, or a BadRequest naming the first field that is not valid."""
    if not isinstance(data, Mapping):
        raise BadRequest("the body must be a JSON object", code="invalid_body")
    serializer = payload(data=data)
    if serializer.is_valid():
        return serializer.validated_data
    path, message = _first_message(serializer.errors)
    field = path[0] if path else "body"
    raise BadRequest(
        f"{'.'.join(path) or 'body'}: {message}",
        code=payload.error_codes.get(field, "invalid_parameter"),
    )

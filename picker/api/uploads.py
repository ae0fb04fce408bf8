"""The multipart upload endpoints (filestack-python's and filestack-js's uploaders)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, files, multipart, params
from picker.blobs import store_blob
from picker.errors import BadRequest
from picker.schema import BLOB, STORE_OPTIONS, errors

_COMMON = {
    "apikey": serializers.CharField(),
    "policy": serializers.CharField(required=False),
    "signature": serializers.CharField(required=False),
}
START_REQUEST = inline_serializer(
    "MultipartStart",
    {
        **_COMMON,
        "filename": serializers.CharField(),
        "mimetype": serializers.CharField(required=False),
        "size": serializers.IntegerField(min_value=1),
        "store": STORE_OPTIONS,
    },
)
START_RESPONSE = inline_serializer(
    "MultipartStarted",
    {
        "uri": serializers.CharField(),
        "region": serializers.CharField(),
        "upload_id": serializers.CharField(),
        "location_url": serializers.CharField(),
    },
)
UPLOAD_REQUEST = inline_serializer(
    "MultipartUploadPart",
    {
        **_COMMON,
        "upload_id": serializers.CharField(),
        "uri": serializers.CharField(required=False),
        "region": serializers.CharField(required=False),
        "part": serializers.IntegerField(min_value=1, max_value=multipart.MAX_PARTS),
        "size": serializers.IntegerField(min_value=1, max_value=multipart.MAX_PART_BYTES),
        "md5": serializers.CharField(),
    },
)
UPLOAD_RESPONSE = inline_serializer(
    "MultipartPartTarget",
    {
        "url": serializers.URLField(),
        "headers": serializers.DictField(child=serializers.CharField()),
    },
)
COMPLETE_REQUEST = inline_serializer(
    "MultipartComplete",
    {
        **_COMMON,
        "upload_id": serializers.CharField(),
        "uri": serializers.CharField(required=False),
        "region": serializers.CharField(required=False),
        "store": STORE_OPTIONS,
        "parts": serializers.ListField(
            child=inline_serializer(
                "MultipartPartRef",
                {"part_number": serializers.IntegerField(), "etag": serializers.CharField()},
            )
        ),
    },
)
ERRORS = {
    **errors(400, 401, 403, 404),
}


def location_url() -> str:
    """Where the SDKs send /multipart/upload and /complete (they prepend https:// to a host).

    It names the /upload routes, as the SDKs append only /multipart/... to it.
    """
    base = urlsplit(settings.OPENPICKER_BASE_URL)
    where = f"{base.netloc}{base.path.rstrip('/')}/upload"
    return where if base.scheme == "https" else f"{base.scheme}://{where}"


def _app_and_body(request):
    body = params.json_object(request)
    creds = params.credentials(request, body)
    return access.resolve_app(creds), creds, body


def _store_options(body: dict) -> files.StoreOptions:
    store = body.get("store") or {}
    if not isinstance(store, dict):
        raise BadRequest("store must be an object", code="invalid_parameter")
    return files.StoreOptions.build(
        location=store.get("location"),
        filename=body.get("filename"),
        mimetype=body.get("mimetype"),
        path=store.get("path"),
        container=store.get("container"),
        access=store.get("access"),
    )


class StartView(APIView):
    @extend_schema(
        operation_id="multipart_start",
        request=START_REQUEST,
        responses={200: START_RESPONSE, **ERRORS},
    )
    def post(self, request):
        app, creds, body = _app_and_body(request)
        policy = access.authorize(app, creds, "store")
        size = params.integer(body.get("size"), "size")
        if size is None or size <= 0:
            raise BadRequest("size must be a positive integer", code="invalid_parameter")
        upload = multipart.start(app, _store_options(body), size, policy)
        return Response(
            {
                "uri": f"/{upload.upload_id}",
                "region": "local",
                "upload_id": upload.upload_id,
                "location_url": location_url(),
                "location_region": "local",
            }
        )


class PartTargetView(APIView):
    @extend_schema(
        operation_id="multipart_upload",
        request=UPLOAD_REQUEST,
        responses={200: UPLOAD_RESPONSE, **ERRORS},
    )
    def post(self, request):
        app, _, body = _app_and_body(request)
        upload = multipart.get_upload(app, params.text(body.get("upload_id"), "upload_id", 64))
        number = params.integer(body.get("part"), "part") or 0
        size = params.integer(body.get("size"), "size") or 0
        md5 = params.text(body.get("md5"), "md5", 64) or ""
        multipart.check_part(number, size, md5)
        query = urlencode(
            {
                "size": size,
                "md5": md5,
                "signature": multipart.part_signature(upload.upload_id, number, size, md5),
            }
        )
        url = (
            f"{settings.OPENPICKER_BASE_URL}/upload/multipart/part/"
            f"{upload.upload_id}/{number}?{query}"
        )
        return Response({"url": url, "headers": {"Content-MD5": md5}})


class PartView(APIView):
    """The PUT target of each part; answers with the ETag the client sends back on complete."""

    @extend_schema(
        operation_id="multipart_put_part",
        parameters=[
            OpenApiParameter("size", int),
            OpenApiParameter("md5", str),
            OpenApiParameter("signature", str),
        ],
        request={"application/octet-stream": bytes},
        responses={200: None, **ERRORS},
    )
    def put(self, request, upload_id: str, part: int):
        query = request.query_params
        size = params.integer(query.get("size"), "size") or 0
        md5 = query.get("md5", "")
        multipart.check_part(part, size, md5)
        django_request = request._request
        length = params.integer(django_request.META.get("CONTENT_LENGTH"), "Content-Length") or 0
        etag = multipart.receive_part(
            upload_id, part, size, md5, query.get("signature", ""), django_request.read, length
        )
        response = Response(status=200)
        response["ETag"] = f'"{etag}"'
        return response


class CompleteView(APIView):
    @extend_schema(
        operation_id="multipart_complete",
        request=COMPLETE_REQUEST,
        responses={200: BLOB, 202: None, **ERRORS},
    )
    def post(self, request):
        app, creds, body = _app_and_body(request)
        policy = access.authorize(app, creds, "store")
        link = multipart.complete(
            app,
            params.text(body.get("upload_id"), "upload_id", 64),
            body.get("parts"),
            _store_options(body),
            policy,
        )
        if link is None:
            return Response({"status": "Pending"}, status=202)
        return Response(store_blob(link))

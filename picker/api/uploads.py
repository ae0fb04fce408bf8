"""The multipart upload endpoints (filestack-python's and filestack-js's uploaders)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, multipart, params
from picker.api import payloads
from picker.blobs import store_blob
from picker.schema import BLOB, errors

START_RESPONSE = inline_serializer(
    "MultipartStarted",
    {
        "uri": serializers.CharField(),
        "region": serializers.CharField(),
        "upload_id": serializers.CharField(),
        "location_url": serializers.CharField(),
    },
)
UPLOAD_RESPONSE = inline_serializer(
    "MultipartPartTarget",
    {
        "url": serializers.URLField(),
        "headers": serializers.DictField(child=serializers.CharField()),
    },
)
ERRORS = {
    **errors(400, 401, 403, 404, 409, 413),
}


def location_url() -> str:
    """Where the SDKs send /multipart/upload and /complete (they prepend https:// to a host).

    It names the /upload routes, as the SDKs append only /multipart/... to it.
    """
    base = urlsplit(settings.OPENPICKER_BASE_URL)
    where = f"{base.netloc}{base.path.rstrip('/')}/upload"
    return where if base.scheme == "https" else f"{base.scheme}://{where}"


def _app_and_body(request, payload: type[payloads.Payload]):
    """The app the body's credentials name, the credentials, and the validated body."""
    body = params.json_object(request)
    creds = params.credentials(request, body, _start_security(body))
    app = access.resolve_app(creds)
    return app, creds, payloads.parse(payload, body)


def _start_security(body: dict) -> dict:
    """The policy and signature `start` was given, from the `uri` it answered.

    Both SDKs send `uri` back on every later step, but filestack-python sends no policy with
    /multipart/upload: so `uri` carries start's, and each step checks it (expiry, call, maxSize)
    as start did. A policy in the request itself comes first.
    """
    uri = body.get("uri")
    if not isinstance(uri, str):
        return {}
    query = dict(parse_qsl(urlsplit(uri).query))
    return {name: query[name] for name in ("policy", "signature") if name in query}


class StartView(APIView):
    @extend_schema(
        operation_id="multipart_start",
        request=payloads.MultipartStart,
        responses={200: START_RESPONSE, **ERRORS},
    )
    def post(self, request):
        app, creds, body = _app_and_body(request, payloads.MultipartStart)
        policy = access.authorize(app, creds, "store")
        options = payloads.StoreParams.options(
            body.get("store"), filename=body["filename"], mimetype=body.get("mimetype")
        )
        upload = multipart.start(app, options, body["size"], policy)
        security = {"policy": creds.policy, "signature": creds.signature} if policy else {}
        return Response(
            {
                "uri": f"/{upload.upload_id}" + (f"?{urlencode(security)}" if security else ""),
                "region": "local",
                "upload_id": upload.upload_id,
                "location_url": location_url(),
                "location_region": "local",
            }
        )


class PartTargetView(APIView):
    @extend_schema(
        operation_id="multipart_upload",
        request=payloads.MultipartUploadPart,
        responses={200: UPLOAD_RESPONSE, **ERRORS},
    )
    def post(self, request):
        app, creds, body = _app_and_body(request, payloads.MultipartUploadPart)
        policy = access.authorize(app, creds, "store")
        upload_id, number, md5 = body["upload_id"], body["part"], body["md5"]
        query = multipart.part_target(app, upload_id, number, body["size"], md5, policy)
        url = (
            f"{settings.OPENPICKER_BASE_URL}/upload/multipart/part/"
            f"{upload_id}/{number}?{urlencode(query)}"
        )
        return Response({"url": url, "headers": {"Content-MD5": md5}})


class PartView(APIView):
    """The PUT target of each part; answers with the ETag the client sends back on complete."""

    @extend_schema(
        operation_id="multipart_put_part",
        parameters=[
            OpenApiParameter("size", int),
            OpenApiParameter("md5", str),
            OpenApiParameter("expires", int),
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
            upload_id,
            part,
            size,
            md5,
            params.integer(query.get("expires"), "expires") or 0,
            query.get("signature", ""),
            django_request.read,
            length,
        )
        response = Response(status=200)
        response["ETag"] = f'"{etag}"'
        return response


class CompleteView(APIView):
    @extend_schema(
        operation_id="multipart_complete",
        request=payloads.MultipartComplete,
        responses={200: BLOB, 202: None, **ERRORS},
    )
    def post(self, request):
        app, creds, body = _app_and_body(request, payloads.MultipartComplete)
        policy = access.authorize(app, creds, "store")
        options = payloads.StoreParams.options(body.get("store"), mimetype=body.get("mimetype"))
        link = multipart.complete(app, body["upload_id"], body["parts"], options, policy)
        if link is None:
            return Response({"status": "Pending"}, status=202)
        return Response(store_blob(link))

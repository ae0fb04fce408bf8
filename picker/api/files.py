"""The file API: store, read, metadata, overwrite, remove (DESIGN.md §3)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, files, openers, params
from picker.api import payloads
from picker.api.bodies import upload_body
from picker.api.payloads import UPLOAD_BODY
from picker.blobs import DEFAULT_METADATA, METADATA_FLAGS, metadata, store_blob
from picker.errors import PolicyError
from picker.http.views import ReadAPIView, json_response
from picker.models import FileLink
from picker.responses import file_response, opened_response
from picker.schema import BLOB, METADATA, errors, security_params

KEY_PARAM = OpenApiParameter("key", str, description="API key")
BASE64_PARAM = OpenApiParameter("base64decode", bool)
STORE_PARAMS = [
    KEY_PARAM,
    OpenApiParameter("filename", {"type": "string", "maxLength": 255}),  # bytes (picker.keys)
    OpenApiParameter("mimetype", str),
    OpenApiParameter("path", {"type": "string", "maxLength": 1024}),
    OpenApiParameter("container", str),
    OpenApiParameter("access", str, enum=["public", "private"]),
    BASE64_PARAM,
    *security_params(),
]


class StoreView(APIView):
    """POST /api/store/S3: store raw bytes, a multipart `fileUpload`, or `url=`."""

    @extend_schema(
        operation_id="store",
        parameters=STORE_PARAMS,
        request=UPLOAD_BODY,
        responses={
            200: BLOB,
            **errors(400, 401, 403, 413),
        },
    )
    def post(self, request, location: str):
        query = request.query_params
        options = files.StoreOptions.build(
            location=location,
            filename=query.get("filename"),
            mimetype=query.get("mimetype"),
            path=query.get("path"),
            container=query.get("container"),
            access=query.get("access"),
        )
        creds = params.credentials(request)
        app = access.resolve_app(creds)
        policy = access.authorize(app, creds, "store")
        body = upload_body(
            request._request,
            max_bytes=files.size_limit(policy),
            base64decode=params.flag(query.get("base64decode")),
        )
        if body.url is not None:
            link = files.store_url(app, body.url, options, policy=policy)
        else:
            options = options.fill(filename=body.filename, mimetype=body.mimetype)
            link = files.store(app, body.read, options, policy=policy, declared_size=body.size)
        return Response(store_blob(link))


class FileView(ReadAPIView):
    """GET/HEAD read, POST overwrite, DELETE remove, for /api/file/{handle}."""

    @extend_schema(
        operation_id="file_read",
        parameters=[
            OpenApiParameter("dl", bool),
            OpenApiParameter("cache", str),
            OpenApiParameter("Range", str, OpenApiParameter.HEADER),
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER),
            *security_params(),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            (304, "application/octet-stream"): None,
            **errors(403, 404, 416),
        },
    )
    def get(self, request, handle: str):
        return read_file(request, handle)

    @extend_schema(
        operation_id="file_overwrite",
        parameters=[KEY_PARAM, BASE64_PARAM, *security_params()],
        request=UPLOAD_BODY,
        responses={
            200: BLOB,
            **errors(400, 403, 404),
        },
    )
    def post(self, request, handle: str):
        link = access.filelink_for(handle)
        creds = params.credentials(request)
        # Authorize before the body is read (a multipart body is parsed whole); which of the two
        # calls it is shows only once the body says whether it is bytes or a URL.
        policy = access.authorize(
            link.app, creds, ("write", "writeUrl"), handle=link.handle, owner_only=True
        )
        body = upload_body(
            request._request,
            max_bytes=files.size_limit(policy),
            base64decode=params.flag(request.query_params.get("base64decode")),
        )
        if policy is not None:
            policy.allows_call("writeUrl" if body.url is not None else "write")
        if body.url is not None:
            link = files.overwrite_url(link, body.url, policy=policy)
        else:
            link = files.overwrite(link, body.read, policy=policy, declared_size=body.size)
        return Response(store_blob(link))

    @extend_schema(
        operation_id="file_remove",
        parameters=[KEY_PARAM, *security_params()],
        request=None,
        responses={
            200: None,
            **errors(401, 403, 404),
        },
    )
    def delete(self, request, handle: str):
        return remove_file(request, handle)


class RemoveView(APIView):
    """POST /api/file/{handle}/remove: the legacy remove call."""

    @extend_schema(
        operation_id="file_remove_legacy",
        parameters=[KEY_PARAM],
        request={
            "application/x-www-form-urlencoded": payloads.RemoveCredentials,
            "application/json": payloads.RemoveCredentials,
        },
        responses={
            200: None,
            **errors(401, 403, 404),
        },
    )
    def post(self, request, handle: str):
        return remove_file(request, handle)


class MetadataView(ReadAPIView):
    """GET /api/file/{handle}/metadata and /cdn/{handle}/metadata."""

    @extend_schema(
        operation_id="file_metadata",
        parameters=[*(OpenApiParameter(flag, bool) for flag in METADATA_FLAGS), *security_params()],
        responses={
            200: METADATA,
            **errors(403, 404),
        },
    )
    def get(self, request, handle: str):
        return json_response(file_metadata(request, handle))


def file_metadata(request, handle: str, creds: access.Credentials | None = None) -> dict:
    query = params.query(request)
    flags = [name for name in METADATA_FLAGS if name in query and params.flag(query[name])]
    # The default set reads what a read does; other fields are loaded with the row.
    link = access.filelink_for(handle, to_serve=set(flags) <= set(DEFAULT_METADATA))
    creds = creds or params.credentials(request)
    policy = access.authorize(link.app, creds, "stat", handle=link.handle)
    if "exif" in flags:
        if policy is None and not creds.basic_secret:
            raise PolicyError("reading exif needs a policy that allows it", code="policy_call")
        if policy is not None:
            policy.allows_call("exif")
    return {**metadata(link, flags), "handle": link.handle}


def read_file(
    request, handle: str, creds: access.Credentials | None = None, *, no_cache: bool = False
):
    """The bytes of a file, for /api/file/{handle} and the CDN."""
    link = access.filelink_for(handle.split("+", 1)[0], to_serve=True)
    access.authorize(link.app, creds or params.credentials(request), "read", handle=link.handle)
    query = params.query(request)
    download = params.flag(query.get("dl"))
    if no_cache or query.get("cache", "").lower() == "false":
        cache_control = "no-store"
    elif link.app.security_required:
        cache_control = "private, max-age=0, must-revalidate"
    else:
        cache_control = "public, max-age=300"
    if link.kind == FileLink.Kind.SYMLINK:
        opened = openers.open(link)
        return opened_response(opened, link, download=download, cache=cache_control)
    return file_response(request, link, download=download, cache=cache_control)


def remove_file(request, handle: str):
    link = access.filelink_for(handle)
    # The legacy remove also takes its credentials from a form or JSON body.
    body = (
        payloads.parse(payloads.RemoveCredentials, request.data)
        if request.method == "POST"
        else None
    )
    creds = params.credentials(request, body)
    access.authorize(link.app, creds, "remove", handle=link.handle, owner_only=True)
    files.remove(link)
    return Response(status=200)

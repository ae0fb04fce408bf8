"""The CDN (`/cdn/...`) and `/process` store-from-URL endpoints."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, cdn, files, params
from picker.access import Credentials
from picker.api import payloads
from picker.api.files import file_metadata, read_file
from picker.blobs import store_blob
from picker.errors import BadRequest
from picker.http.views import ReadAPIView, json_response
from picker.schema import BLOB, METADATA, errors


def _chain_credentials(request, chain: cdn.Chain) -> Credentials:
    creds = params.credentials(request)
    policy, signature = cdn.security_params(chain)
    if policy:
        creds.policy, creds.signature = policy, signature
    if chain.apikey:
        creds.apikey = chain.apikey
    return creds


class CdnView(ReadAPIView):
    """GET /cdn/[APIKEY/]tasks.../HANDLE: the file (image tasks come with conversions)."""

    @extend_schema(
        operation_id="cdn",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **errors(400, 403, 404),
        },
    )
    def get(self, request, path: str):
        chain = cdn.parse(path)
        creds = _chain_credentials(request, chain)
        processing = chain.processing
        if processing:
            processor = cdn.processors.get(processing[0].name)
            if processor is None:
                raise BadRequest(f"unknown task {processing[0].name!r}", code="unknown_task")
            return processor(request, chain, creds)
        if not chain.is_handle:
            raise BadRequest("the source must be a file handle", code="invalid_source")
        cache = chain.task("cache")
        no_cache = cache is not None and str(cache.params.get("value", "")).lower() == "false"
        return read_file(request, chain.source, creds, no_cache=no_cache)

    @extend_schema(exclude=True)
    def post(self, request, path: str):
        chain = cdn.parse(path)
        processing = chain.processing
        processor = cdn.processors.get(processing[0].name) if processing else None
        if processor is None:
            raise BadRequest(
                "POST to the CDN needs a processing chain ending in store", code="unknown_task"
            )
        return processor(request, chain, _chain_credentials(request, chain))


class CdnMetadataView(ReadAPIView):
    @extend_schema(
        operation_id="cdn_metadata",
        responses={
            200: METADATA,
            **errors(403, 404),
        },
    )
    def get(self, request, path: str):
        chain = cdn.parse(path)
        if chain.processing or not chain.is_handle:
            raise BadRequest("metadata takes a handle and optional security", code="invalid_source")
        return json_response(
            file_metadata(request, chain.source, _chain_credentials(request, chain))
        )


class ProcessView(APIView):
    """POST /process: store files fetched from URLs (filestack-python's upload_url)."""

    @extend_schema(
        operation_id="process",
        request=payloads.Process,
        responses={
            200: BLOB,
            **errors(400, 401, 403),
        },
    )
    def post(self, request):
        raw = params.json_object(request)
        body = payloads.parse(payloads.Process, raw)
        store_params, security = {}, {}
        for task in body.get("tasks") or []:
            name, task_params = task["name"], task.get("params") or {}
            if name == "store":
                store_params = task_params
            elif name == "security":
                security = task_params
            else:
                raise BadRequest(f"unknown task {name!r}", code="unknown_task")
        creds = params.credentials(request, raw, security)
        app = access.resolve_app(creds)
        policy = access.authorize(app, creds, "store")
        options = payloads.StoreParams.options(payloads.parse(payloads.StoreParams, store_params))
        blobs = [
            store_blob(files.store_url(app, source, options, policy=policy))
            for source in body["sources"]
        ]
        return Response(blobs[0] if len(blobs) == 1 else blobs)

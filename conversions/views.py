"""Conversion endpoints: the legacy /api/file/{handle}/convert and the CDN task chains."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from conversions import grammar, renditions
from conversions.grammar import Conversion
from conversions.models import Rendition
from picker import access, cdn, events, files, params
from picker.access import Credentials
from picker.blobs import store_blob
from picker.errors import BadRequest, PickerError
from picker.handles import is_handle
from picker.http.views import ReadAPIView
from picker.models import FileLink
from picker.responses import stored_response
from picker.schema import BLOB, errors

CREDENTIAL_PARAMS = {"key", "apikey", "policy", "signature"}
LEGACY_QUERY = [
    OpenApiParameter(name, str)
    for name in (*sorted(grammar.LEGACY_OPS), *grammar.LEGACY_STORE, "key", "policy", "signature")
]


def public_url(path: str, params: dict) -> str:
    """A conversion URL without credentials (what fp.converse reports and 202 points at)."""
    query = urlencode([(k, v) for k, v in params.items() if k not in CREDENTIAL_PARAMS])
    return f"{settings.OPENPICKER_BASE_URL}{path}" + (f"?{query}" if query else "")


def convert(
    request,
    link: FileLink,
    conversion: Conversion,
    creds: Credentials,
    url: str,
    ready: Rendition | None = None,
):
    """Authorize, then answer the converted bytes, or store them and answer the blob.

    `ready`: the link's ready rendition for this conversion, when the caller found it already.
    """
    storing = conversion.store is not None
    policy = access.authorize(link.app, creds, "convert", handle=link.handle, owner_only=storing)
    if storing and policy is not None:
        policy.allows_call("store")
    if not conversion.operations:
        with files.open_bytes(link) as source:
            created = files.store(
                link.app,
                source.read,
                conversion.store.fill(filename=link.filename),
                policy=policy,
                announce=lambda copy: events.Converse(
                    app=link.app, link=link, url=url, stored=copy
                ),
            )
        return Response(store_blob(created))
    rendition = renditions.request_rendition(link, conversion, url, ready=ready)
    if rendition is None:
        response = Response(
            {"status": "pending", "url": url, "detail": "the conversion is running; ask again"},
            status=202,
        )
        response["Location"] = url
        response["Retry-After"] = "1"
        return response
    if storing:
        return Response(store_blob(renditions.store_copy(link, rendition, conversion, policy, url)))
    cache = (
        "private, max-age=0, must-revalidate"
        if link.app.security_required
        else "public, max-age=86400"
    )
    return stored_response(
        request,
        renditions.as_stored(rendition, link.filename),
        download=params.flag(params.query(request).get("dl")),
        cache=cache,
    )


class LegacyConvertView(ReadAPIView):
    """GET converts (bytes); POST converts and stores (blob), as filepicker.convert does."""

    @extend_schema(
        operation_id="convert",
        parameters=LEGACY_QUERY,
        responses={(200, "image/*"): OpenApiTypes.BINARY, 202: None, **errors(400, 403, 404, 413)},
    )
    def get(self, request, handle: str):
        return self._convert(request, handle, storing=False)

    @extend_schema(
        operation_id="convert_store",
        parameters=LEGACY_QUERY,
        request=None,
        responses={200: BLOB, 202: None, **errors(400, 401, 403, 404, 413)},
    )
    def post(self, request, handle: str):
        return self._convert(request, handle, storing=True)

    def _convert(self, request, handle: str, *, storing: bool):
        link = access.filelink_for(handle)
        body = request.data if storing and isinstance(request.data, dict) else {}
        # A form body is a QueryDict: dict() takes each parameter's last value, not its list.
        form = body.dict() if hasattr(body, "dict") else body
        merged = {**form, **request.GET.dict()}
        creds = params.credentials(request, body)
        conversion = grammar.from_legacy(merged, storing=storing)
        return convert(request, link, conversion, creds, public_url(request.path, merged))


def cdn_conversion(request, chain: cdn.Chain, creds: Credentials):
    """The CDN processor for image tasks and `store` (registered in picker.cdn.processors)."""
    if not chain.is_handle:
        raise BadRequest(
            "conversions take a file handle as their source (external URLs are not supported)",
            code="invalid_source",
        )
    ready = _ready(request, chain)
    # The handle is looked up (a 404) before the tasks are read (a 400), as it always was; the
    # second read of a chain is a lookup (grammar.from_tasks keeps the chains it has read).
    link = ready.source if ready is not None else access.filelink_for(chain.source)
    conversion = grammar.from_tasks(chain.tasks)
    if request.method == "POST" and conversion.store is None:
        raise BadRequest("POST to the CDN stores: end the chain with store", code="invalid_task")
    tasks = request.path.split("/cdn/", 1)[-1].split("/")
    path = "/cdn/" + "/".join(part for part in tasks if not part.startswith("security="))
    url = public_url(path, params.query(request).dict())
    return convert(request, link, conversion, creds, url, ready)


def _ready(request, chain: cdn.Chain) -> Rendition | None:
    """For a GET of a rendition: the ready row with its file, in one query; None when there is
    none, or the chain does not read (its 400 comes after the handle's lookup)."""
    if request.method != "GET" or not is_handle(chain.source):
        return None
    try:
        conversion = grammar.from_tasks(chain.tasks)
    except PickerError:
        return None
    if conversion.store is not None or not conversion.operations:
        return None
    return renditions.ready_by_handle(chain.source, conversion.spec)


def forget_on_change(sender, event: events.Event, **kwargs) -> None:
    """Renditions of a file that was overwritten or removed are dropped."""
    if isinstance(event, events.Overwrite | events.Delete):
        renditions.forget(event.link)

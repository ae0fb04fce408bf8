"""POST /services/rest/: node-flickrapi's proxy route, for callers with a connected session."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, params
from picker.errors import AuthenticationFailed, BadRequest
from picker.schema import errors
from providers import cloud
from providers.flickr import proxy

PROXY_REQUEST = inline_serializer(
    "FlickrProxyCall",
    {
        "method": serializers.CharField(),
        "apikey": serializers.CharField(),
        "token": serializers.CharField(),
        "policy": serializers.CharField(required=False),
        "signature": serializers.CharField(required=False),
    },
)


def _body(request) -> dict:
    """The call's fields from a JSON object or a form (last value of a repeated field)."""
    data = request.data
    if hasattr(data, "dict"):
        return data.dict()
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object or a form", code="invalid_body")
    return data


class FlickrProxyView(APIView):
    @extend_schema(
        operation_id="flickr_proxy",
        request={
            "application/json": PROXY_REQUEST,
            "application/x-www-form-urlencoded": PROXY_REQUEST,
        },
        responses={200: dict, **errors(400, 401, 403, 429, 502)},
    )
    def post(self, request):
        body = _body(request)
        creds = params.credentials(request, body)
        app = access.resolve_app(creds)
        access.authorize(app, creds, "pick")
        token = params.text(body.get("token"), "token", 256)
        connection = cloud.connection_for(app, "flickr", token)
        if connection is None:
            raise AuthenticationFailed(
                "the proxy needs the session token of a connected Flickr account",
                code="not_connected",
            )
        method = params.text(body.get("method"), "method", 128)
        if not method:
            raise BadRequest("method is required", code="method_required")
        reply = proxy.forward(connection, method, proxy.flickr_params(body))
        cloud.touch(connection)
        return Response(reply)

"""Provider routes: the OAuth start and callback (/api/client/{provider}/...)."""

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from picker.access import app_by_key
from picker.errors import BadRequest
from picker.schema import errors
from providers import base, oauth
from providers.payloads import AuthCallbackQuery, AuthOpenQuery

# The {provider} of the routes: a registered provider's name.
PROVIDER = OpenApiParameter(
    "provider",
    str,
    OpenApiParameter.PATH,
    description="The provider to connect: flickr or instagram.",
    examples=[OpenApiExample(name.capitalize(), value=name) for name in ("flickr", "instagram")],
)


def _query(serializer_class, request) -> dict:
    """The query checked by its serializer (a 400 in the one error shape otherwise)."""
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AuthOpenView(APIView):
    @extend_schema(
        operation_id="provider_auth_open",
        parameters=[PROVIDER, AuthOpenQuery],
        responses={
            302: OpenApiResponse(description="to the provider's consent page"),
            **errors(400, 401, 404, 502),
        },
    )
    def get(self, request, provider):
        """Start connecting: ?key=APIKEY&token=SESSION[&perms=write] → the consent page."""
        chosen = base.get(provider)
        query = _query(AuthOpenQuery, request)
        app = app_by_key(query.get("key"))
        if not query.get("token"):
            raise BadRequest("a session token is required (token=...)", code="token_required")
        callback = request.build_absolute_uri(reverse("providers:auth-callback", args=[provider]))
        url = oauth.start(chosen, app, request.session, query["token"], callback, query["perms"])
        return HttpResponseRedirect(url)


class AuthCallbackView(APIView):
    @extend_schema(
        operation_id="provider_auth_callback",
        parameters=[PROVIDER, AuthCallbackQuery],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="connected"),
            **errors(400, 404, 502),
        },
    )
    def get(self, request, provider):
        """The provider sends the browser back here; the connection is made once."""
        chosen = base.get(provider)
        _query(AuthCallbackQuery, request)  # bounded values, whatever the provider's protocol
        connection = oauth.finish(
            chosen, request.session, *oauth.callback_params(chosen, request.query_params)
        )
        # The account name is the provider's (a user's display name): escaped, not trusted.
        page = format_html(
            "<!doctype html><title>Connected</title>"
            '<p data-testid="connected">Connected to {} as {}. You can close this window.</p>'
            "<script>window.opener && window.opener.postMessage('openpicker-connected', '*');"
            "window.close();</script>",
            chosen.name,
            connection.account_name,
        )
        return HttpResponse(page)


auth_open = AuthOpenView.as_view()
auth_callback = AuthCallbackView.as_view()

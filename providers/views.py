"""Provider routes: the OAuth start and callback (/api/client/{provider}/...)."""

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from picker.access import app_by_key
from picker.errors import BadRequest
from providers import base, oauth


@require_GET
def auth_open(request, provider):
    """Start connecting: ?key=APIKEY&token=SESSION[&perms=write] → the provider's consent page."""
    chosen = base.get(provider)
    app = app_by_key(request.GET.get("key"))
    session_token = request.GET.get("token", "")
    if not session_token:
        raise BadRequest("a session token is required (token=...)", code="token_required")
    callback = request.build_absolute_uri(reverse("providers:auth-callback", args=[provider]))
    url = oauth.start(
        chosen, app, request.session, session_token, callback, request.GET.get("perms", "read")
    )
    return HttpResponseRedirect(url)


@require_GET
def auth_callback(request, provider):
    """The provider sends the browser back here; the connection is made once."""
    chosen = base.get(provider)
    connection = oauth.finish(chosen, request.session, *oauth.callback_params(chosen, request.GET))
    page = (
        "<!doctype html><title>Connected</title>"
        f'<p data-testid="connected">Connected to {chosen.name} as {connection.account_name}.'
        " You can close this window.</p>"
        "<script>window.opener && window.opener.postMessage('openpicker-connected', '*');"
        "window.close();</script>"
    )
    return HttpResponse(page)

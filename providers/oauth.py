"""The OAuth flow, written once for every provider: start (bound to this browser) and finish.

A pending authorization is a row keyed by the request token, with the request secret encrypted
and a digest of a random value kept in the browser's session; the callback must come back in
the same browser, with a request token we issued and have not used yet.
"""

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from picker.errors import BadRequest
from providers import base
from providers.errors import ProviderError
from providers.models import PendingAuthorization, ProviderConnection, digest

BROWSER_KEY = "openpicker_oauth_browser"
PENDING_LIFETIME = timedelta(minutes=15)


def browser_value(session) -> str:
    if BROWSER_KEY not in session:
        session[BROWSER_KEY] = secrets.token_urlsafe(32)
    return session[BROWSER_KEY]


def callback_params(provider: base.Provider, query) -> tuple[str, str]:
    """(request token, verifier) of a callback's query: OAuth 1.0a's oauth_token and
    oauth_verifier, unless the provider reads its own (OAuth 2.0: state and code)."""
    own = getattr(provider, "callback_params", None)
    if own is not None:
        return own(query)
    return query.get("oauth_token", ""), query.get("oauth_verifier", "")


def start(
    provider: base.Provider, app, session, session_token: str, callback: str, permissions: str
) -> str:
    """Begin the flow; the URL to send the browser to."""
    if permissions not in provider.permissions:
        raise BadRequest(f"permissions must be one of {', '.join(provider.permissions)}")
    url, request_token, request_secret = provider.start_authorization(app, callback, permissions)
    PendingAuthorization.objects.create(
        app=app,
        provider=provider.name,
        request_token=request_token,
        request_secret=request_secret,
        browser_digest=digest(browser_value(session)),
        session_digest=digest(session_token),
        permissions=permissions,
    )
    return url


def finish(
    provider: base.Provider, session, request_token: str, verifier: str
) -> ProviderConnection:
    """Complete the flow once: forged, replayed, expired or other-browser callbacks → 400."""
    if not request_token or not verifier:
        raise BadRequest(
            "the authorization was refused or the callback is incomplete", code="oauth_refused"
        )
    browser = session.get(BROWSER_KEY, "")
    with transaction.atomic():
        pending = (
            PendingAuthorization.objects.select_for_update()
            .filter(provider=provider.name, request_token=request_token)
            .first()
        )
        if pending is None:
            raise BadRequest("unknown or already used authorization", code="oauth_invalid")
        if not browser or not secrets.compare_digest(pending.browser_digest, digest(browser)):
            raise BadRequest(
                "this authorization was started in another browser", code="oauth_invalid"
            )
        # Single use: gone before the provider is even asked.
        pending.delete()
    if timezone.now() - pending.created > PENDING_LIFETIME:
        raise BadRequest("the authorization expired; start again", code="oauth_expired")
    try:
        account = provider.finish_authorization(
            pending.app, request_token, pending.request_secret, verifier
        )
    except ProviderError as exc:
        raise BadRequest(
            f"the provider refused this authorization: {exc.detail}", code="oauth_invalid"
        ) from exc
    connection, _ = ProviderConnection.objects.update_or_create(
        app=pending.app,
        provider=provider.name,
        session_digest=pending.session_digest,
        defaults={**account, "permissions": pending.permissions},
    )
    return connection

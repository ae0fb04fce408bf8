"""The cloud API's domain: end users' session tokens, their connections, folder pages, logout.

A connection is found only by (app, provider, digest of the session token), so another app's
key or another browser's token never reaches it; the token itself is never stored.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from picker.errors import BadRequest
from providers import base
from providers.errors import ProviderTokenRejected
from providers.models import ProviderConnection, digest

TOKEN_BYTES = 32


def session_token(given: str | None) -> str:
    """The caller's session token, or a new unguessable one (Filestack answers it back)."""
    return given or secrets.token_urlsafe(TOKEN_BYTES)


def connection_for(app, provider: str, token: str | None) -> ProviderConnection | None:
    """This app's connection for this session token, if the end user has connected."""
    if not token:
        return None
    return (
        ProviderConnection.objects.select_related("app")
        .filter(app=app, provider=provider, session_digest=digest(token))
        .first()
    )


def touch(connection: ProviderConnection) -> None:
    ProviderConnection.objects.filter(pk=connection.pk).update(last_used=timezone.now())


def redirect_url(app, provider: str, token: str, permissions: str = "read") -> str:
    """Where the end user's browser starts connecting (Filestack's `auth.redirect_url`)."""
    path = reverse("providers:auth-open", args=[provider])
    query = urlencode({"key": app.apikey, "token": token, "perms": permissions})
    return f"{settings.OPENPICKER_BASE_URL}{path}?{query}"


def auth_needed(app, provider: str, token: str, permissions: str = "read") -> dict:
    """Filestack's answer for a cloud the end user must connect (or reconnect with more) first."""
    return {"auth": {"redirect_url": redirect_url(app, provider, token, permissions)}}


def not_connected(app, provider: str, token: str) -> dict:
    return {"contents": [], "next": None, **auth_needed(app, provider, token)}


def list_folder(app, provider_name: str, token: str, path: str, page: int | None) -> dict:
    """One folder page of the end user's account, or `auth.redirect_url` to connect first.

    Tokens the provider no longer accepts (the user revoked the app) are forgotten, and the
    caller is asked to connect again, as for a session that never connected.
    """
    provider = base.get(provider_name)
    connection = connection_for(app, provider_name, token)
    if connection is None:
        return not_connected(app, provider_name, token)
    try:
        listed = provider.list_folder(connection, path, page)
    except ProviderTokenRejected:
        provider.disconnect(connection)
        return not_connected(app, provider_name, token)
    touch(connection)
    return {
        "contents": listed["contents"],
        "next": None if listed["next"] is None else str(listed["next"]),
    }


def check_exportable(provider_names) -> None:
    """Refuse an export naming a provider that takes none (Instagram), before anything is read,
    written or sent to any provider."""
    for name in provider_names:
        provider = base.get(name)
        if not getattr(provider, "exports", True):
            raise BadRequest(
                f"Exporting a file to {provider.label} is not possible.",
                code="export_not_supported",
            )


def logout(app, provider_names: list[str], token: str) -> list[str]:
    """Disconnect this session's accounts at these providers; the names that were connected."""
    providers = {name: base.get(name) for name in provider_names}  # all known, or nothing done
    done = []
    for name, provider in providers.items():
        connection = connection_for(app, name, token)
        if connection is not None:
            provider.disconnect(connection)
            done.append(name)
    return done

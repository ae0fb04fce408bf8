"""oauthlib's server side for the fake Flickr: who the consumers are and what tokens exist."""

import hmac
import secrets
import string

from django.conf import settings
from django.db import IntegrityError, transaction
from oauthlib.oauth1 import RequestValidator

from providers.sandbox.models import FlickrNonce, FlickrToken


def consumers() -> dict[str, str]:
    """The fake Flickr's registered apps: the instance's configured default Flickr key."""
    return {settings.OPENPICKER_FLICKR_KEY: settings.OPENPICKER_FLICKR_SECRET}


def new_token(prefix: str = "") -> str:
    """A Flickr-shaped token: digits, a dash, hex."""
    return f"{prefix}{secrets.randbelow(10**17):017d}-{secrets.token_hex(8)}"


class SandboxValidator(RequestValidator):
    enforce_ssl = False
    safe_characters = set(string.ascii_letters + string.digits + "-")
    client_key_length = (16, 64)
    request_token_length = (16, 64)
    access_token_length = (16, 64)
    verifier_length = (8, 64)
    nonce_length = (6, 64)
    timestamp_lifetime = 600

    dummy_client = "00000000000000000000000000000000"
    dummy_request_token = "00000000000000000-0000000000000000"  # noqa: S105 - not a secret
    dummy_access_token = "00000000000000000-0000000000000001"  # noqa: S105 - not a secret

    def _token(self, key, kind, client_key=None):
        token = FlickrToken.objects.filter(key=key, kind=kind, used=False).first()
        if token and client_key is not None and token.client_key != client_key:
            return None
        return token

    # Consumers
    def validate_client_key(self, client_key, request):
        return client_key in consumers()

    def get_client_secret(self, client_key, request):
        return consumers().get(client_key, "dummy-secret")

    def validate_timestamp_and_nonce(
        self, client_key, timestamp, nonce, request, request_token=None, access_token=None
    ):
        try:
            with transaction.atomic():
                FlickrNonce.objects.create(
                    client_key=client_key,
                    timestamp=timestamp,
                    nonce=nonce,
                    token=request_token or access_token or "",
                )
        except IntegrityError:
            return False
        return True

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return True

    def get_default_realms(self, client_key, request):
        return []

    def get_realms(self, token, request):
        return []

    def validate_requested_realms(self, client_key, realms, request):
        return True

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    # Request tokens
    def save_request_token(self, token, request):
        FlickrToken.objects.create(
            key=token["oauth_token"],
            secret=token["oauth_token_secret"],
            kind=FlickrToken.REQUEST,
            client_key=request.client_key,
            callback=request.redirect_uri or "",
        )

    def validate_request_token(self, client_key, token, request):
        return self._token(token, FlickrToken.REQUEST, client_key) is not None

    def get_request_token_secret(self, client_key, token, request):
        found = self._token(token, FlickrToken.REQUEST, client_key)
        return found.secret if found else "dummy-secret"

    def validate_verifier(self, client_key, token, verifier, request):
        found = self._token(token, FlickrToken.REQUEST, client_key)
        return bool(found and found.verifier and hmac.compare_digest(found.verifier, verifier))

    def invalidate_request_token(self, client_key, request_token, request):
        FlickrToken.objects.filter(key=request_token, kind=FlickrToken.REQUEST).update(used=True)

    # Access tokens
    def save_access_token(self, token, request):
        granted = self._token(request.resource_owner_key, FlickrToken.REQUEST)
        FlickrToken.objects.create(
            key=token["oauth_token"],
            secret=token["oauth_token_secret"],
            kind=FlickrToken.ACCESS,
            client_key=request.client_key,
            perms=granted.perms if granted else "read",
        )

    def validate_access_token(self, client_key, token, request):
        return self._token(token, FlickrToken.ACCESS, client_key) is not None

    def get_access_token_secret(self, client_key, token, request):
        found = self._token(token, FlickrToken.ACCESS, client_key)
        return found.secret if found else "dummy-secret"

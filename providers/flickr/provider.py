"""Flickr as a picker provider: the interface in providers.base over client.py and adapter.py."""

from django.conf import settings

from providers.flickr.client import FlickrClient
from providers.models import ProviderCredential


def keys(app) -> tuple[str, str]:
    """The app's own Flickr Auth Keys, else the instance's."""
    own = ProviderCredential.objects.filter(app=app, provider="flickr").first()
    if own:
        return own.key, own.secret
    return settings.OPENPICKER_FLICKR_KEY, settings.OPENPICKER_FLICKR_SECRET


class FlickrProvider:
    name = "flickr"
    permissions = ("read", "write")

    def client(self, app, connection=None) -> FlickrClient:
        key, secret = keys(app)
        if connection is None:
            return FlickrClient(key, secret)
        return FlickrClient(key, secret, connection.token, connection.token_secret)

    def start_authorization(self, app, callback: str, permissions: str) -> tuple[str, str, str]:
        client = self.client(app)
        token = client.request_token(callback)
        return (
            client.authorize_url(token["oauth_token"], permissions),
            token["oauth_token"],
            token["oauth_token_secret"],
        )

    def finish_authorization(
        self, app, request_token: str, request_secret: str, verifier: str
    ) -> dict:
        access = self.client(app).access_token(request_token, request_secret, verifier)
        return {
            "account_id": access["user_nsid"],
            "account_name": access.get("username", ""),
            "token": access["oauth_token"],
            "token_secret": access["oauth_token_secret"],
        }

    def disconnect(self, connection) -> None:
        """Flickr has no token revocation call: forgetting the tokens is the disconnect."""
        connection.delete()

    def refresh(self, connection) -> None:
        """Flickr's OAuth 1.0a tokens do not expire."""

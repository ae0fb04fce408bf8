"""Flickr calls through requests-oauthlib; bases come from settings only (never hard-coded)."""

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client


def signer(
    key: str, secret: str, token: str | None = None, token_secret: str | None = None, **extra
) -> Client:
    """The oauthlib client every Flickr call is signed with (OAuth1Session uses the same class)."""
    return Client(
        key,
        client_secret=secret,
        resource_owner_key=token,
        resource_owner_secret=token_secret,
        signature_method=SIGNATURE_HMAC_SHA1,
        **extra,
    )

"""The provider interface and its registry (filled from ProvidersConfig.ready())."""

from __future__ import annotations

from typing import IO, Protocol

from picker.errors import NotFound


class Provider(Protocol):
    """What every cloud provider offers the picker. `connection` is a ProviderConnection."""

    name: str
    label: str  # how FileLinks and events name it ("Flickr")
    permissions: tuple[str, ...]  # what a connection can be granted, least first

    def start_authorization(self, app, callback: str, permissions: str) -> tuple[str, str, str]:
        """(redirect URL, request token, request secret) to begin an OAuth flow."""

    def finish_authorization(
        self, app, request_token: str, request_secret: str, verifier: str
    ) -> dict:
        """{account_id, account_name, token, token_secret} of the authorised account."""

    def list_folder(self, connection, path: str, page: int | None) -> dict:
        """{contents: [{name, path, mimetype, thumbnail, size, folder}], next}."""

    def metadata(self, connection, path: str) -> dict:
        """{filename, mimetype, size, width, height, page_url, short_url, ...} of one item."""

    def open(self, connection, path: str) -> IO[bytes]:
        """The original's bytes as a stream."""

    def export(self, connection, data: bytes, filename: str, **options) -> dict:
        """Create an item at the provider; its metadata plus its `path`."""

    def disconnect(self, connection) -> None:
        """Forget the account (and revoke at the provider where it can)."""

    def refresh(self, connection) -> None:
        """Renew the connection's tokens where the provider expires them."""


REGISTRY: dict[str, Provider] = {}


def register(provider: Provider) -> None:
    REGISTRY[provider.name] = provider


def get(name: str) -> Provider:
    try:
        return REGISTRY[name]
    except KeyError:
        raise NotFound(f"no provider called {name!r}", code="unknown_provider") from None

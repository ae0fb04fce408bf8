"""Files between a provider and OpenPicker: pick (a symlink), pickAndStore (a stored copy), export.

A pick's symlink remembers the account and the item's path (`provider_item_id` =
"{account id}:{path}") and links back to the item's page (`source_url`); its bytes are read
through the provider's opener (registered in ProvidersConfig.ready()) with a connection of the
same app to the same account. Every step that can be refused without the provider is refused
before it is called.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from django.conf import settings

from picker import events, files, openers
from picker.access import filelink_for
from picker.errors import BadRequest, Forbidden, TooLarge
from picker.models import App, FileLink
from picker.outbound import fetch_public_url
from picker.policies import Policy
from providers import base
from providers.errors import ProviderAuthError
from providers.models import ProviderConnection

# Flickr's own limit for a photo upload; exports are read into memory up to it.
EXPORT_MAX_BYTES = 200 * 1024 * 1024
_OWN_FILE = re.compile(r"^/api/file/([A-Za-z0-9_-]{20})/?$")


def _item_id(connection: ProviderConnection, path: str) -> str:
    return f"{connection.account_id}:{path}"


def pick(
    connection: ProviderConnection,
    path: str,
    store: files.StoreOptions | None = None,
    policy: Policy | None = None,
) -> tuple[FileLink, dict]:
    """A symlink to the item (pick) or, with `store`, a copy in the app's storage (pickAndStore).

    Both announce fp.upload with the provider's name as client. Returns the link and the item's
    metadata (its page and short links for the blob).
    """
    provider = base.get(connection.provider)
    if store is not None:
        files.check_store_target(store, policy)  # refused before the provider is asked
    meta = provider.metadata(connection, path)
    if store is None:
        link = files.create_symlink(
            connection.app,
            client=provider.label,
            provider=provider.label,
            provider_item_id=_item_id(connection, path),
            source_url=meta["page_url"],
            size=meta.get("size"),
            mimetype=meta["mimetype"],
            filename=meta["filename"],
        )
        return link, meta
    options = replace(
        store.fill(filename=meta["filename"], mimetype=meta["mimetype"]),
        client=provider.label,
        source_url=meta["page_url"],
    )
    with provider.open(connection, path) as fetched:
        link = files.store(
            connection.app,
            fetched.read,
            options,
            policy=policy,
            declared_size=fetched.content_length,
        )
    return link, meta


def opener(provider_name: str) -> openers.Opener:
    """The symlink opener of a provider: the item through a connection of the link's app to the
    account it was picked from (the most recently used one)."""

    def open_link(link: FileLink) -> openers.Opened:
        account, _, path = link.provider_item_id.partition(":")
        if not (account and path):
            # Not made by a pick or an export here (no account to read it with): read its
            # source URL through the guard, as the core does for providers without an opener.
            return openers.Opened.from_fetched(fetch_public_url(link.source_url), link)
        connection = (
            ProviderConnection.objects.select_related("app")
            .filter(app_id=link.app_id, provider=provider_name, account_id=account)
            .order_by("-last_used")
            .first()
        )
        if connection is None:
            raise ProviderAuthError(
                f"the {link.provider} account this file was picked from is no longer connected"
            )
        return openers.Opened.from_fetched(base.get(provider_name).open(connection, path), link)

    return open_link


def export_source(app: App, handle: str | None, url: str | None) -> FileLink | str:
    """The file to export: a handle of this app (also as its own /api/file URL) or a URL."""
    if url and not handle:
        parts = urlsplit(url)
        own = urlsplit(settings.OPENPICKER_BASE_URL)
        match = _OWN_FILE.match(parts.path)
        if match and (parts.scheme, parts.netloc) == (own.scheme, own.netloc):
            handle = match[1]
    if handle:
        link = filelink_for(handle)
        if link.app_id != app.pk:
            raise Forbidden("this API key does not own the file", code="wrong_apikey")
        return link
    if not url:
        raise BadRequest("give the file to export as handle or url", code="source_required")
    return url


def _read_all(read, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"exports are limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def export(
    connection: ProviderConnection, source: FileLink | str, filename: str | None, **options
) -> tuple[FileLink, dict]:
    """Upload the source to the provider; a symlink to the new item, announced as fp.export.

    options: what the provider's export takes (title, description, tags).
    """
    provider = base.get(connection.provider)
    if isinstance(source, FileLink):
        with files.open_bytes(source) as reader:
            data = _read_all(reader.read, EXPORT_MAX_BYTES)
        name = filename or source.filename
    else:
        with fetch_public_url(source, max_bytes=EXPORT_MAX_BYTES) as fetched:
            data = _read_all(fetched.read, EXPORT_MAX_BYTES)
        name = filename or files.url_filename(source) or "export"
    meta = provider.export(connection, data, name, **options)
    app = connection.app

    def exported(link: FileLink) -> events.Event:
        # From a URL there is no source handle: the event names the new link as its source.
        origin = source if isinstance(source, FileLink) else link
        return events.Export(
            app=app, link=origin, client=provider.label, created=link.url, filename=name
        )

    link = files.create_symlink(
        app,
        client=provider.label,
        provider=provider.label,
        provider_item_id=_item_id(connection, meta["path"]),
        source_url=meta["page_url"],
        size=meta.get("size"),
        mimetype=meta["mimetype"],
        filename=meta["filename"],
        announce=exported,
    )
    return link, meta


def blob(link: FileLink, meta: dict) -> dict:
    """Filestack's blob of a picked or exported item, with the links back to the provider."""
    out = {
        "url": link.url,
        "handle": link.handle,
        "filename": link.filename,
        "size": link.size,
        "mimetype": link.mimetype,
        "type": link.mimetype,
        "client": link.client,
        "isWriteable": link.kind == FileLink.Kind.STORED and link.writeable,
        "source_url": meta.get("page_url"),
        "short_url": meta.get("short_url"),
    }
    if link.kind == FileLink.Kind.STORED:
        out |= {"key": link.key, "container": link.container}
    return out

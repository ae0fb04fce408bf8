"""Instagram as a picker provider (the "Instagram API with Instagram Login"): the interface in
providers.base over client.py and adapter.py.

One folder, `/`: the account's media, newest first, carousel albums expanded into their
children; an item's path is `/{media id}`. Folder pages are the cloud API's page numbers; Graph
pages by opaque cursors, so page n's cursor is kept in the cache (per connection) when page
n-1 is listed, and found again by walking from the first page when the cache lost it.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from picker.errors import BadRequest, NotFound
from picker.outbound import Fetched, fetch_public_url
from providers.instagram import adapter
from providers.instagram.client import InstagramClient
from providers.models import ProviderConnection, ProviderCredential

LIST_FIELDS = (
    "id,caption,media_type,media_url,permalink,thumbnail_url,timestamp,username,"
    "children{id,media_type,media_url,thumbnail_url,timestamp}"
)
ITEM_FIELDS = "id,caption,media_type,media_url,permalink,thumbnail_url,timestamp,username"
CURSOR_SECONDS = 3600
_ITEM = re.compile(r"^/(\d{1,32})$")


def media_id(path: str) -> str:
    match = _ITEM.match(path or "")
    if not match:
        raise NotFound(f"no Instagram media at {path!r}", code="item_not_found")
    return match[1]


def keys(app) -> tuple[str, str]:
    """The app's own Instagram Auth Keys, else the instance's."""
    own = ProviderCredential.objects.filter(app=app, provider="instagram").first()
    if own:
        return own.key, own.secret
    return settings.OPENPICKER_INSTAGRAM_CLIENT_ID, settings.OPENPICKER_INSTAGRAM_CLIENT_SECRET


def _expiry(reply: dict, now: datetime | None = None) -> datetime | None:
    try:
        seconds = int(reply["expires_in"])
    except (KeyError, TypeError, ValueError):
        return None
    return (now or timezone.now()) + timedelta(seconds=seconds)


class InstagramProvider:
    name = "instagram"
    label = "Instagram"  # the client and provider of its FileLinks
    permissions = ("read",)  # Filestack cannot export to Instagram
    exports = False

    def client(self, app, connection=None) -> InstagramClient:
        client_id, secret = keys(app)
        return InstagramClient(client_id, secret, connection.token if connection else None)

    # OAuth 2.0: the pending authorization's "request token" is the state, its "secret" the
    # redirect URI the code was issued for; the verifier is the code.
    @staticmethod
    def callback_params(query) -> tuple[str, str]:
        code = query.get("code", "")
        if code.endswith("#_"):  # Instagram appends it to the redirect
            code = code[:-2]
        return query.get("state", ""), code

    def start_authorization(self, app, callback: str, permissions: str) -> tuple[str, str, str]:
        state = secrets.token_urlsafe(32)
        return self.client(app).authorization_url(callback, state), state, callback

    def finish_authorization(self, app, state: str, callback: str, code: str) -> dict:
        client = self.client(app)
        short = client.exchange_code(callback, code)
        long = client.long_lived(short["access_token"])
        me = client.get("me", token=long["access_token"], fields="user_id,username")
        return {
            "account_id": str(me.get("user_id") or short.get("user_id") or me["id"]),
            "account_name": me.get("username", ""),
            "token": long["access_token"],
            "token_secret": None,
            "token_expires": _expiry(long),
        }

    # Browse
    def list_folder(self, connection, path: str, page: int | None) -> dict:
        if (path or "/") != "/":
            raise NotFound(f"no Instagram folder {path!r}", code="folder_not_found")
        client = self.client(connection.app, connection)
        page = page or 1
        after = self._cursor(client, connection, page)
        params = {"fields": LIST_FIELDS, "limit": str(settings.OPENPICKER_INSTAGRAM_PAGE_SIZE)}
        if after:
            params["after"] = after
        reply = client.get("me/media", **params)
        following = adapter.next_cursor(reply)
        if following:
            cache.set(self._cursor_name(connection, page + 1), following, CURSOR_SECONDS)
        return {
            "contents": adapter.media_items(reply.get("data") or []),
            "next": page + 1 if following else None,
        }

    @staticmethod
    def _cursor_name(connection, page: int) -> str:
        return f"openpicker:instagram:cursor:{connection.pk}:{connection.account_id}:{page}"

    def _cursor(self, client, connection, page: int) -> str | None:
        """The `after` cursor of page n (None for the first)."""
        if page == 1:
            return None
        found = cache.get(self._cursor_name(connection, page))
        if found:
            return found
        after = None
        for number in range(1, page):
            params = {"fields": "id", "limit": str(settings.OPENPICKER_INSTAGRAM_PAGE_SIZE)}
            if after:
                params["after"] = after
            after = adapter.next_cursor(client.get("me/media", **params))
            if after is None:
                raise NotFound(f"there is no page {number + 1}", code="folder_not_found")
        return after

    # Pick
    def _node(self, connection, path: str) -> dict:
        client = self.client(connection.app, connection)
        return client.get(media_id(path), fields=ITEM_FIELDS)

    def metadata(self, connection, path: str) -> dict:
        """An image's metadata; the byte size from a HEAD of its (fresh) media_url."""
        meta = adapter.metadata(self._node(connection, path))
        if meta["media_url"]:
            with fetch_public_url(meta["media_url"], method="HEAD") as head:
                meta["size"] = head.content_length
        return meta

    def open(self, connection, path: str) -> Fetched:
        """The image's bytes: media_url expires, so it is asked for afresh at every read, then
        fetched through the outbound guard."""
        meta = adapter.metadata(self._node(connection, path))
        if not meta["media_url"]:
            raise NotFound("Instagram gave no media_url for this item", code="item_not_found")
        return fetch_public_url(meta["media_url"])

    def export(self, connection, data: bytes, filename: str, **options) -> dict:
        raise not_exportable()

    def disconnect(self, connection) -> None:
        """Forget the token. Instagram has no revoke call (users remove the app in their
        account's settings), so nothing is sent."""
        connection.delete()

    def refresh(self, connection) -> None:
        """A new long-lived token for 60 days (Instagram keeps the old one valid until its end)."""
        reply = self.client(connection.app, connection).refresh(connection.token)
        ProviderConnection.objects.filter(pk=connection.pk).update(
            token=reply["access_token"],
            token_expires=_expiry(reply),
        )


def not_exportable() -> BadRequest:
    return BadRequest("Exporting a file to Instagram is not possible.", code="export_not_supported")


def refresh_expiring(now: datetime | None = None) -> dict:
    """Refresh every Instagram connection whose long-lived token expires within
    OPENPICKER_INSTAGRAM_REFRESH_BEFORE_DAYS (and has not already expired). A refused refresh
    (revoked: 190) forgets the connection; other failures are left for the next run.

    Each connection is claimed first (openpicker.models.claim) and its expiry read again, so
    two runs at once (two beats) never refresh one token twice."""
    from openpicker.models import claim, release
    from providers.errors import ProviderError, ProviderTokenRejected

    now = now or timezone.now()
    soon = now + timedelta(days=settings.OPENPICKER_INSTAGRAM_REFRESH_BEFORE_DAYS)
    due = ProviderConnection.objects.select_related("app").filter(
        provider="instagram", token_expires__gt=now, token_expires__lte=soon
    )
    done = {"refreshed": 0, "forgotten": 0, "failed": 0}
    provider = InstagramProvider()
    for connection in due:
        name = f"instagram-refresh:{connection.pk}"
        if not claim(name, 600, now):
            continue  # another run is refreshing it
        try:
            if not due.filter(pk=connection.pk, token_expires=connection.token_expires).exists():
                continue  # another run has refreshed (or forgotten) it meanwhile
            provider.refresh(connection)
            done["refreshed"] += 1
        except ProviderTokenRejected:
            provider.disconnect(connection)
            done["forgotten"] += 1
        except ProviderError:
            done["failed"] += 1
        finally:
            release(name)
    return done

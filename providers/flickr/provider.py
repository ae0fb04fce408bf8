"""Flickr as a picker provider: the interface in providers.base over client.py and adapter.py.

Folders: `/` (the photostream, then the albums), `/photostream/`, `/albums/{id}/`; an item's
path is its folder's plus the photo id. Each folder page is one Flickr call (`extras` carry the
thumbnails and formats).
"""

import re

from django.conf import settings

from picker.errors import BadRequest, NotFound
from picker.outbound import Fetched, fetch_public_url
from providers.flickr import adapter
from providers.flickr.client import FlickrClient
from providers.models import ProviderCredential

# What a list page asks for in the same call: thumbnails, the original's format, media type.
EXTRAS = "url_q,original_format,media,date_upload"
_ALBUM = re.compile(r"^/albums/(\d{1,32})/?$")
_ITEM = re.compile(r"^/(?:photostream|albums/\d{1,32})/(\d{1,32})$")


def photo_id(path: str) -> str:
    """The photo id an item path (`/photostream/{id}`, `/albums/{album}/{id}`) names."""
    match = _ITEM.match(path or "")
    if not match:
        raise NotFound(f"no Flickr photo at {path!r}", code="item_not_found")
    return match[1]


def keys(app) -> tuple[str, str]:
    """The app's own Flickr Auth Keys, else the instance's."""
    own = ProviderCredential.objects.filter(app=app, provider="flickr").first()
    if own:
        return own.key, own.secret
    return settings.OPENPICKER_FLICKR_KEY, settings.OPENPICKER_FLICKR_SECRET


class FlickrProvider:
    name = "flickr"
    label = "Flickr"  # the client and provider of its FileLinks, as the seeds' webhooks show
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

    def list_folder(self, connection, path: str, page: int | None) -> dict:
        """{contents, next} of one folder page; one Flickr call."""
        client = self.client(connection.app, connection)
        paging = {"per_page": str(settings.OPENPICKER_FLICKR_PAGE_SIZE), "page": str(page or 1)}
        path = path or "/"
        if path == "/":
            reply = client.call("flickr.photosets.getList", primary_photo_extras="url_q", **paging)
            return adapter.albums_page(reply)
        if path.rstrip("/") == adapter.PHOTOSTREAM.rstrip("/"):
            reply = client.call("flickr.people.getPhotos", user_id="me", extras=EXTRAS, **paging)
            return adapter.photos_page(reply, adapter.PHOTOSTREAM)
        album = _ALBUM.match(path)
        if album:
            reply = client.call(
                "flickr.photosets.getPhotos",
                photoset_id=album[1],
                user_id=connection.account_id,
                extras=EXTRAS,
                **paging,
            )
            return adapter.photos_page(reply, f"{adapter.ALBUMS}{album[1]}/")
        raise NotFound(f"no Flickr folder {path!r}", code="folder_not_found")

    def metadata(self, connection, path: str) -> dict:
        """A photo's picker metadata: photos.getInfo and photos.getSizes (cached replies), and
        the original's byte size from a HEAD of its URL through the outbound guard."""
        client = self.client(connection.app, connection)
        number = photo_id(path)
        info = client.cached_reply("flickr.photos.getInfo", {"photo_id": number})
        meta = adapter.photo_metadata(info, self._sizes(client, number))
        if meta["media"] != "photo":
            raise BadRequest("only photos can be picked from Flickr", code="not_an_image")
        if meta["source"]:
            with fetch_public_url(meta["source"], method="HEAD") as head:
                meta["size"] = head.content_length
        return meta

    @staticmethod
    def _sizes(client: FlickrClient, number: str) -> dict:
        return client.cached_reply("flickr.photos.getSizes", {"photo_id": number})

    def open(self, connection, path: str) -> Fetched:
        """The original, streamed: its URL is from Flickr's reply, so the outbound guard vets it."""
        client = self.client(connection.app, connection)
        original = adapter.original_size(self._sizes(client, photo_id(path)))
        if not original or not original.get("source"):
            raise NotFound("Flickr lists no size of this photo", code="item_not_found")
        return fetch_public_url(original["source"])

    def export(self, connection, data: bytes, filename: str, **options) -> dict:
        """Upload a photo with the user's default privacy; the new photo's metadata.

        options: title, description, tags (space-separated, Flickr's syntax). Three calls:
        prefs.getPrivacy, the upload, then getInfo/getSizes for the blob.
        """
        client = self.client(connection.app, connection)
        fields = adapter.upload_privacy(client.call("flickr.prefs.getPrivacy"))
        fields["title"] = options.get("title") or filename.rsplit(".", 1)[0]
        for name in ("description", "tags"):
            if options.get(name):
                fields[name] = options[name]
        number = client.upload(data, filename, **fields)
        return self.metadata(connection, f"{adapter.PHOTOSTREAM}{number}") | {
            "path": f"{adapter.PHOTOSTREAM}{number}",
            "size": len(data),
        }

    def disconnect(self, connection) -> None:
        """Forget the tokens. Flickr's API has no call to revoke an OAuth token (users revoke
        an app at flickr.com/services/auth/list.gne), so nothing is sent to Flickr."""
        connection.delete()

    def refresh(self, connection) -> None:
        """Flickr's OAuth 1.0a tokens do not expire."""

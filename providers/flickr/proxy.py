"""node-flickrapi's `proxy`: a Flickr REST call signed with an end user's connection.

Only methods listed here pass, each with the permission Flickr requires for it; a method needing
more than the connection was granted is refused before Flickr is called. Read replies are cached
per connection and call for 24 hours (Flickr's terms allow no longer), so a repeated read costs
neither a call nor budget; writes are never cached.
"""

from __future__ import annotations

from picker.errors import BadRequest, Forbidden
from providers.flickr.provider import FlickrProvider

RANK = {"read": 1, "write": 2, "delete": 3}

READ_METHODS = frozenset(
    f"flickr.{name}"
    for name in """
    test.login test.echo test.null
    people.getInfo people.getPhotos people.getPhotosOf people.getPublicPhotos
    people.findByUsername people.getUploadStatus people.getGroups people.getPublicGroups
    photos.getInfo photos.getSizes photos.getExif photos.getContext photos.getAllContexts
    photos.getFavorites photos.getRecent photos.search photos.getPerms photos.getCounts
    photos.getNotInSet photos.getUntagged photos.getWithGeoData photos.getWithoutGeoData
    photos.recentlyUpdated photos.getContactsPhotos photos.getContactsPublicPhotos
    photos.comments.getList photos.geo.getLocation photos.licenses.getInfo
    photos.people.getList photos.upload.checkTickets
    photosets.getList photosets.getPhotos photosets.getInfo photosets.getContext
    photosets.comments.getList
    favorites.getList favorites.getPublicList favorites.getContext
    galleries.getList galleries.getPhotos galleries.getInfo
    tags.getListPhoto tags.getListUser tags.getListUserPopular tags.getHotList tags.getRelated
    prefs.getPrivacy prefs.getContentType prefs.getGeoPerms prefs.getHidden prefs.getSafetyLevel
    urls.getUserPhotos urls.getUserProfile urls.lookupUser urls.lookupGallery
    contacts.getList contacts.getPublicList groups.getInfo groups.search groups.pools.getPhotos
    interestingness.getList
    """.split()
)
WRITE_METHODS = frozenset(
    f"flickr.{name}"
    for name in """
    photos.addTags photos.removeTag photos.setTags photos.setMeta photos.setDates
    photos.setPerms photos.setSafetyLevel photos.setContentType
    photos.comments.addComment photos.comments.deleteComment photos.comments.editComment
    photos.notes.add photos.notes.delete photos.notes.edit
    photos.geo.setLocation photos.geo.removeLocation photos.geo.setPerms
    photos.licenses.setLicense photos.people.add photos.people.delete
    photosets.create photosets.addPhoto photosets.removePhoto photosets.removePhotos
    photosets.editMeta photosets.editPhotos photosets.orderSets photosets.reorderPhotos
    photosets.setPrimaryPhoto photosets.comments.addComment photosets.comments.deleteComment
    photosets.comments.editComment
    favorites.add favorites.remove
    galleries.create galleries.addPhoto galleries.editMeta galleries.editPhoto galleries.editPhotos
    """.split()
)
DELETE_METHODS = frozenset({"flickr.photos.delete", "flickr.photosets.delete"})
# Parameters the proxy sets itself, or that name the caller to OpenPicker, never forwarded.
RESERVED = frozenset(
    {"method", "format", "nojsoncallback", "api_key", "apikey", "key", "token"}
    | {"policy", "signature", "auth_token", "api_sig", "jsoncallback"}
)
MAX_PARAMS, MAX_VALUE = 50, 4096


def permission_needed(method: str) -> str:
    if method in READ_METHODS:
        return "read"
    if method in WRITE_METHODS:
        return "write"
    if method in DELETE_METHODS:
        return "delete"
    raise Forbidden(
        f"{method!r} is not a Flickr method this proxy forwards", code="method_not_allowed"
    )


def flickr_params(body: dict) -> dict[str, str]:
    """The Flickr parameters of a proxy call: scalars as strings, OAuth and our own left out."""
    params = {}
    for name, value in body.items():
        if name in RESERVED or name.startswith("oauth_"):
            continue
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, str | int | float) or len(str(value)) > MAX_VALUE:
            raise BadRequest(
                f"{name} must be a string or a number of at most {MAX_VALUE} characters",
                code="invalid_parameter",
            )
        params[str(name)] = str(value)
    if len(params) > MAX_PARAMS:
        raise BadRequest(f"at most {MAX_PARAMS} parameters", code="invalid_parameter")
    return params


def forward(connection, method: str, params: dict[str, str]) -> dict:
    """Flickr's reply to `method` for this connection; stat:fail is passed on as Flickr sent it."""
    needed = permission_needed(method)
    granted = connection.permissions or "read"
    if RANK[needed] > RANK.get(granted, 0):
        raise Forbidden(
            f"{method} needs {needed} permission; this connection was granted {granted}",
            code="insufficient_permission",
        )
    client = FlickrProvider().client(connection.app, connection)
    if needed == "read":
        return client.cached_reply(method, params)
    return client.reply(method, params, post=True)

"""Pure functions from Flickr JSON replies to picker items; no HTTP here."""

from providers.errors import ProviderAuthError, ProviderError, ProviderTokenRejected

BASE58 = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
# Flickr codes that mean "the tokens are no good": reconnect.
AUTH_CODES = {95, 96, 97, 98, 99, 100}
# Of those, the ones about this user's token (invalid auth token, a signature it cannot make).
TOKEN_CODES = {96, 98}


def check(reply: dict) -> dict:
    """Return a reply with stat ok; raise on Flickr's stat:fail (sent with HTTP 200)."""
    if reply.get("stat") == "ok":
        return reply
    code = int(reply.get("code") or 0)
    message = str(reply.get("message") or "Flickr call failed")
    if code in TOKEN_CODES:
        error = ProviderTokenRejected
    elif code in AUTH_CODES:
        error = ProviderAuthError
    else:
        error = ProviderError
    raise error(f"Flickr error {code}: {message}", code=error.code)


def base58(number: int | str) -> str:
    """flic.kr short id of a photo id."""
    number, out = int(number), ""
    while number:
        number, rest = divmod(number, 58)
        out = BASE58[rest] + out
    return out or BASE58[0]


def short_url(photo_id) -> str:
    return f"https://flic.kr/p/{base58(photo_id)}"


def page_url(owner: str, photo_id) -> str:
    return f"https://www.flickr.com/photos/{owner}/{photo_id}/"


def as_text(value) -> str:
    """Flickr text nodes come as {"_content": ...} or plain strings."""
    if isinstance(value, dict):
        return str(value.get("_content", ""))
    return "" if value is None else str(value)


def as_int(value) -> int | None:
    """Flickr numbers come as ints or strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def photo_item(photo: dict, folder: str = "") -> dict:
    """One photo of a list reply (people.getPhotos / photosets.getPhotos) as a picker item."""
    extension = photo.get("originalformat") or "jpg"
    title = as_text(photo.get("title")) or str(photo["id"])
    name = title if title.lower().endswith(f".{extension}") else f"{title}.{extension}"
    thumbnail = (
        photo.get("url_q") or photo.get("url_sq") or photo.get("url_t") or photo.get("url_m")
    )
    if not thumbnail and photo.get("server") and photo.get("secret"):
        thumbnail = (
            f"https://live.staticflickr.com/{photo['server']}/{photo['id']}_{photo['secret']}_q.jpg"
        )
    media = photo.get("media") or "photo"
    return {
        "name": name,
        "path": f"{folder.rstrip('/')}/{photo['id']}" if folder else f"/{photo['id']}",
        "mimetype": "video/mp4"
        if media == "video"
        else f"image/{'jpeg' if extension == 'jpg' else extension}",
        "thumbnail": thumbnail,
        "size": None,
        "folder": False,
        "link": short_url(photo["id"]),
    }


def photos_page(reply: dict, folder: str = "") -> dict:
    """A list reply's items plus paging: {"contents", "page", "pages", "total"}."""
    check(reply)
    body = reply.get("photos") or reply.get("photoset") or {}
    page, pages = as_int(body.get("page")) or 1, as_int(body.get("pages")) or 0
    return {
        "contents": [photo_item(photo, folder) for photo in body.get("photo", [])],
        "page": page,
        "pages": pages,
        "total": as_int(body.get("total")) or 0,
        "next": page + 1 if page < pages else None,
    }


def original_size(reply: dict) -> dict | None:
    """The Original (else largest) entry of photos.getSizes, with width/height as ints."""
    check(reply)
    sizes = reply.get("sizes", {}).get("size", [])
    if not sizes:
        return None
    chosen = next((s for s in sizes if s.get("label") == "Original"), None)
    chosen = chosen or max(
        sizes, key=lambda s: (as_int(s.get("width")) or 0) * (as_int(s.get("height")) or 0)
    )
    return {**chosen, "width": as_int(chosen.get("width")), "height": as_int(chosen.get("height"))}


PHOTOSTREAM = "/photostream/"
ALBUMS = "/albums/"


def folder_item(name: str, path: str, thumbnail: str | None = None) -> dict:
    return {
        "name": name,
        "path": path,
        "mimetype": "application/octet-stream",
        "thumbnail": thumbnail,
        "size": None,
        "folder": True,
    }


def _album_thumbnail(album: dict) -> str | None:
    """The primary photo's square, from primary_photo_extras (one call lists albums with it)."""
    extras = album.get("primary_photo_extras") or {}
    return extras.get("url_q") or extras.get("url_sq") or extras.get("url_t")


def albums_page(reply: dict) -> dict:
    """photosets.getList as the root folder: the photostream (first page only), then albums."""
    check(reply)
    body = reply.get("photosets") or {}
    page, pages = as_int(body.get("page")) or 1, as_int(body.get("pages")) or 0
    albums = [
        folder_item(as_text(album.get("title")) or str(album["id"]), f"{ALBUMS}{album['id']}/")
        | {"thumbnail": _album_thumbnail(album)}
        for album in body.get("photoset", [])
    ]
    head = [folder_item("Photostream", PHOTOSTREAM)] if page == 1 else []
    return {
        "contents": head + albums,
        "page": page,
        "pages": pages,
        "total": as_int(body.get("total")) or 0,
        "next": page + 1 if page < pages else None,
    }


# flickr.prefs.getPrivacy's values as upload flags (is_public, is_friend, is_family).
PRIVACY_FLAGS = {1: (1, 0, 0), 2: (0, 1, 0), 3: (0, 0, 1), 4: (0, 1, 1), 5: (0, 0, 0)}


def upload_privacy(reply: dict) -> dict[str, str]:
    """The user's default privacy (prefs.getPrivacy) as upload fields; unknown → private."""
    privacy = as_int((check(reply).get("person") or {}).get("privacy"))
    flags = PRIVACY_FLAGS.get(privacy, PRIVACY_FLAGS[5])
    return dict(zip(("is_public", "is_friend", "is_family"), map(str, flags), strict=True))


def mimetype_of(extension: str) -> str:
    extension = (extension or "jpg").lower()
    return f"image/{'jpeg' if extension in ('jpg', 'jpeg') else extension}"


def photo_metadata(info: dict, sizes: dict) -> dict:
    """photos.getInfo + photos.getSizes as a pick's metadata.

    `source` is the original's URL (a provider-supplied URL: fetched only through the outbound
    guard); the links users see are the photo page and its flic.kr short URL, as Flickr asks.
    """
    photo = check(info).get("photo") or {}
    original = original_size(sizes) or {}
    extension = photo.get("originalformat") or "jpg"
    title = as_text(photo.get("title")) or str(photo.get("id", "photo"))
    filename = title if title.lower().endswith(f".{extension}") else f"{title}.{extension}"
    page = next(
        (
            as_text(url)
            for url in (photo.get("urls") or {}).get("url", [])
            if isinstance(url, dict) and url.get("type") == "photopage"
        ),
        None,
    )
    owner = photo.get("owner") or {}
    return {
        "id": str(photo.get("id", "")),
        "filename": filename,
        "mimetype": mimetype_of(extension),
        "media": photo.get("media") or "photo",
        "width": original.get("width"),
        "height": original.get("height"),
        "source": original.get("source"),
        "page_url": page or page_url(owner.get("path_alias") or owner.get("nsid"), photo["id"]),
        "short_url": short_url(photo["id"]),
        "title": as_text(photo.get("title")),
        "description": as_text(photo.get("description")),
    }

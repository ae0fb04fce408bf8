"""The fake Flickr's REST methods: replies shaped like Flickr's JSON (numbers as strings where
Flickr sends strings, text nodes as {"_content": ...}, errors as stat:fail on HTTP 200)."""

import io
import math

from django.utils import timezone
from PIL import Image

from providers.sandbox.flickr import catalogue

WRITE_METHODS = {"flickr.photos.setMeta"}


def fail(code: int, message: str) -> dict:
    return {"stat": "fail", "code": code, "message": message}


def check_image(data: bytes) -> None:
    try:
        Image.open(io.BytesIO(data)).verify()
    except Exception as exc:
        raise ValueError("not an image") from exc


def _page_args(params) -> tuple[int, int]:
    try:
        per_page = min(max(int(params.get("per_page", 100)), 1), 500)
        page = max(int(params.get("page", 1)), 1)
    except ValueError:
        per_page, page = 100, 1
    return page, per_page


def static_url(base: str, photo, suffix: str) -> str:
    secret = photo.originalsecret if suffix == "o" else photo.secret
    tail = f"_{suffix}" if suffix else ""
    return f"{base}/static/{catalogue.SERVER}/{photo.id}_{secret}{tail}.jpg"


_LIST_BASICS = {"id", "owner", "secret", "server", "farm", "title", "ispublic"}
_LIST_BASICS |= {"isfriend", "isfamily"}


def _extras(value: str) -> set[str]:
    return {e.strip() for e in value.split(",") if e.strip()}


def _list_entry(photo, extras: set[str], base: str) -> dict:
    entry = {
        "id": photo.id,
        "owner": catalogue.USER["nsid"],
        "secret": photo.secret,
        "server": catalogue.SERVER,
        "farm": catalogue.FARM,
        "title": photo.title,
        "ispublic": photo.ispublic,
        "isfriend": photo.isfriend,
        "isfamily": photo.isfamily,
    }
    for extra, suffix in catalogue.SUFFIX_OF_EXTRA.items():
        if extra in extras:
            edge = dict((s, e) for s, _, e in catalogue.SIZES)[suffix]
            width, height = catalogue.size_of(photo, edge, suffix)
            key = extra.removeprefix("url_")
            entry |= {
                extra: static_url(base, photo, suffix),
                f"height_{key}": height,
                f"width_{key}": width,
            }
    if "original_format" in extras:
        entry |= {"originalsecret": photo.originalsecret, "originalformat": "jpg"}
    if "date_upload" in extras:
        entry["dateupload"] = str(photo.dateupload)
    if "last_update" in extras:
        entry["lastupdate"] = str(photo.lastupdate)
    if "media" in extras:
        entry |= {"media": "photo", "media_status": "ready"}
    if "description" in extras:
        entry["description"] = {"_content": photo.description}
    return entry


def _paged(photos, params, base: str) -> dict:
    page, per_page = _page_args(params)
    extras = _extras(params.get("extras", ""))
    chosen = photos[(page - 1) * per_page : page * per_page]
    return {
        "page": page,
        "pages": math.ceil(len(photos) / per_page),
        "perpage": per_page,
        "total": str(len(photos)),
        "photo": [_list_entry(p, extras, base) for p in chosen],
    }


def _user_ok(params) -> bool:
    return params.get("user_id", "me") in ("me", catalogue.USER["nsid"])


def test_login(params, token, base):
    user = catalogue.USER
    return {
        "user": {"id": user["nsid"], "username": {"_content": user["username"]}, "path_alias": None}
    }


def people_get_photos(params, token, base):
    if not _user_ok(params):
        return fail(2, "Unknown user")
    return {"photos": _paged(catalogue.all_photos(), params, base)}


def photosets_get_list(params, token, base):
    if not _user_ok(params):
        return fail(1, "User not found")
    page, per_page = _page_args(params)
    primary_extras = _extras(params.get("primary_photo_extras", ""))
    sets = []
    for album in catalogue.ALBUMS[(page - 1) * per_page : page * per_page]:
        photos = catalogue.album_photos(album["id"])
        primary = photos[0]
        sets.append(
            {
                "id": album["id"],
                "primary": primary.id,
                "secret": primary.secret,
                "server": catalogue.SERVER,
                "farm": catalogue.FARM,
                "photos": len(photos),
                "videos": 0,
                "title": {"_content": album["title"]},
                "description": {"_content": album["description"]},
                "date_create": "1700000000",
                "date_update": "1700000000",
            }
        )
        if primary_extras:
            # Flickr nests the primary photo's extras (url_q, height_q, ...) in each photoset.
            entry = _list_entry(primary, primary_extras, base)
            sets[-1]["primary_photo_extras"] = {
                k: v for k, v in entry.items() if k not in _LIST_BASICS
            }
    pages = math.ceil(len(catalogue.ALBUMS) / per_page)
    return {
        "photosets": {
            "page": page,
            "pages": pages,
            "perpage": per_page,
            "total": len(catalogue.ALBUMS),
            "photoset": sets,
        }
    }


def photosets_get_photos(params, token, base):
    album = catalogue.album(params.get("photoset_id", ""))
    if album is None:
        return fail(1, "Photoset not found")
    body = _paged(catalogue.album_photos(album["id"]), params, base)
    body["pages"], body["page"] = str(body["pages"]), body["page"]
    user = catalogue.USER
    return {
        "photoset": {
            "id": album["id"],
            "primary": catalogue.album_photos(album["id"])[0].id,
            "owner": user["nsid"],
            "ownername": user["username"],
            **body,
            "title": album["title"],
        }
    }


def _photo(params):
    return catalogue.find_photo(params.get("photo_id", ""))


def photos_get_info(params, token, base):
    photo = _photo(params)
    if photo is None:
        return fail(1, "Photo not found")
    user = catalogue.USER
    page = f"https://www.flickr.com/photos/{user['nsid']}/{photo.id}/"
    return {
        "photo": {
            "id": photo.id,
            "secret": photo.secret,
            "server": catalogue.SERVER,
            "farm": catalogue.FARM,
            "dateuploaded": str(photo.dateupload),
            "isfavorite": 0,
            "license": "0",
            "rotation": 0,
            "originalsecret": photo.originalsecret,
            "originalformat": "jpg",
            "owner": {
                "nsid": user["nsid"],
                "username": user["username"],
                "realname": user["fullname"],
            },
            "title": {"_content": photo.title},
            "description": {"_content": photo.description},
            "visibility": {
                "ispublic": photo.ispublic,
                "isfriend": photo.isfriend,
                "isfamily": photo.isfamily,
            },
            "dates": {
                "posted": str(photo.dateupload),
                "taken": "2023-11-14 22:13:20",
                "lastupdate": str(photo.lastupdate),
            },
            "media": "photo",
            "urls": {"url": [{"type": "photopage", "_content": page}]},
        }
    }


def photos_get_sizes(params, token, base):
    photo = _photo(params)
    if photo is None:
        return fail(1, "Photo not found")
    sizes, page = [], f"https://www.flickr.com/photos/{catalogue.USER['nsid']}/{photo.id}/"
    for index, (suffix, label, edge) in enumerate(catalogue.SIZES):
        width, height = catalogue.size_of(photo, edge, suffix)
        # Flickr mixes ints and strings in width/height: strings for every other size.
        as_sent = (lambda v: str(v)) if index % 2 else int
        sizes.append(
            {
                "label": label,
                "width": as_sent(width),
                "height": as_sent(height),
                "source": static_url(base, photo, suffix),
                "url": f"{page}sizes/{suffix or 'm'}/",
                "media": "photo",
            }
        )
    return {"sizes": {"canblog": 0, "canprint": 0, "candownload": 1, "size": sizes}}


def prefs_get_privacy(params, token, base):
    return {"person": {"nsid": catalogue.USER["nsid"], "privacy": catalogue.PRIVACY}}


def photos_set_meta(params, token, base):
    """Title and description of an uploaded photo (the built-in catalogue is read-only)."""
    from providers.sandbox.models import FlickrUpload

    photo = _photo(params)
    if photo is None:
        return fail(1, "Photo not found")
    if not photo.upload:
        return fail(2, "User cannot edit this photo")
    FlickrUpload.objects.filter(pk=int(photo.id) - catalogue.UPLOAD_FIRST_ID).update(
        title=params.get("title", ""),
        description=params.get("description", ""),
        updated=timezone.now(),
    )
    return {}


METHODS = {
    "flickr.test.login": test_login,
    "flickr.people.getPhotos": people_get_photos,
    "flickr.photosets.getList": photosets_get_list,
    "flickr.photosets.getPhotos": photosets_get_photos,
    "flickr.photos.getInfo": photos_get_info,
    "flickr.photos.getSizes": photos_get_sizes,
    "flickr.prefs.getPrivacy": prefs_get_privacy,
    "flickr.photos.setMeta": photos_set_meta,
}


def call(params, token, base: str) -> dict:
    """Run one REST call for an authorised access token."""
    if params.get("format") != "json":
        return fail(111, f'Format "{params.get("format", "rest")}" not found')
    name = params.get("method", "")
    method = METHODS.get(name)
    if method is None:
        return fail(112, f'Method "{name}" not found')
    if name in WRITE_METHODS and token.perms not in ("write", "delete"):
        return fail(99, "Insufficient permissions. Method requires write privileges; read granted.")
    reply = method(params, token, base)
    return reply if reply.get("stat") == "fail" else {**reply, "stat": "ok"}

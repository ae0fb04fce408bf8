"""node-flickrapi's `downsync`: mirror a connected account into a folder, fetching only changes.

Layout of the folder:
    photos/{id}.json          the photo's list entry (title, dates, sizes, lastupdate...)
    photos/{id}_o.{ext}       the original
    photos/{id}_{q,z,b}.jpg   a few sizes (150 px square, 640 px, 1024 px)
    albums.json               every album with its photo ids, in Flickr's order
    index.json                {photo id: lastupdate} of what the folder holds

A photo whose `lastupdate` matches the index and whose files are all present is skipped, so a
second run downloads nothing unchanged. Every file is written to a temporary name and renamed, so
an interrupted run leaves no half file under a real name (and the index is written last). Photos
gone from Flickr are removed only when asked. Image URLs come from Flickr's replies, so they are
fetched through the outbound guard.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from picker.outbound import fetch_public_url
from providers.flickr import adapter
from providers.flickr.provider import FlickrProvider

PER_PAGE = 500  # Flickr's maximum: the fewest calls for a listing
# The extras that name every file of a photo and its change marker, in the listing's one call.
EXTRAS = "url_q,url_z,url_l,url_o,original_format,last_update,date_upload,description,media"
SIZES = {"url_q": "q", "url_z": "z", "url_l": "b"}
_ID = re.compile(r"^\d{1,32}$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,5}$")

Progress = Callable[[int, int], None]


@dataclass
class Summary:
    photos: int = 0
    downloaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    files_fetched: int = 0


def _pages(call: Callable[[int], dict], key: str) -> list[dict]:
    """Every entry of a paged listing (photos, photoset...), one call per page of 500."""
    entries, page = [], 1
    while True:
        body = call(page)[key]
        entries += body.get("photo") or body.get("photoset") or []
        if page >= (adapter.as_int(body.get("pages")) or 0):
            return entries
        page += 1


def _write(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temp, path)


def _download(url: str, path: Path) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out, fetch_public_url(url) as fetched:
            for chunk in fetched.iter_chunks():
                out.write(chunk)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _files(photo: dict) -> dict[str, str]:
    """{file name: URL} of a photo's original and sizes, as its list entry names them."""
    files = {}
    extension = str(photo.get("originalformat") or "jpg").lower()
    if photo.get("url_o") and _EXTENSION.match(extension):
        files[f"{photo['id']}_o.{extension}"] = photo["url_o"]
    for extra, suffix in SIZES.items():
        if photo.get(extra):
            files[f"{photo['id']}_{suffix}.jpg"] = photo[extra]
    return files


def downsync(
    connection, folder: Path, *, remove_deleted: bool = False, progress: Progress | None = None
) -> Summary:
    """Bring `folder` up to date with the connection's Flickr account."""
    client = FlickrProvider().client(connection.app, connection)
    photos_dir = folder / "photos"
    photos_dir.mkdir(parents=True, exist_ok=True)
    index_path = folder / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}

    listing = _pages(
        lambda page: client.call(
            "flickr.people.getPhotos",
            user_id="me",
            extras=EXTRAS,
            per_page=str(PER_PAGE),
            page=str(page),
        ),
        "photos",
    )
    photos = [p for p in listing if _ID.match(str(p.get("id", "")))]
    summary = Summary(photos=len(photos))
    seen = {}
    for number, photo in enumerate(photos, 1):
        photo_id, marker = str(photo["id"]), str(photo.get("lastupdate") or "")
        files = _files(photo)
        present = all((photos_dir / name).exists() for name in files)
        if marker and index.get(photo_id) == marker and present:
            summary.unchanged += 1
        else:
            for name, url in files.items():
                _download(url, photos_dir / name)
                summary.files_fetched += 1
            _write(photos_dir / f"{photo_id}.json", json.dumps(photo, indent=1).encode())
            summary.downloaded.append(photo_id)
        seen[photo_id] = marker
        if progress:
            progress(number, len(photos))

    albums = []
    for album in _pages(
        lambda page: client.call(
            "flickr.photosets.getList", per_page=str(PER_PAGE), page=str(page)
        ),
        "photosets",
    ):
        members = _pages(
            lambda page, album_id=album["id"]: client.call(
                "flickr.photosets.getPhotos",
                photoset_id=album_id,
                user_id=connection.account_id,
                per_page=str(PER_PAGE),
                page=str(page),
            ),
            "photoset",
        )
        albums.append(
            {
                "id": str(album["id"]),
                "title": adapter.as_text(album.get("title")),
                "description": adapter.as_text(album.get("description")),
                "photos": [str(p["id"]) for p in members],
            }
        )
    _write(folder / "albums.json", json.dumps(albums, indent=1).encode())

    if remove_deleted:
        for gone in sorted(set(index) - set(seen)):
            if _ID.match(gone):
                for path in photos_dir.glob(f"{gone}[._]*"):
                    path.unlink()
                summary.removed.append(gone)
    else:
        seen = {**{k: v for k, v in index.items() if k not in seen}, **seen}
    _write(index_path, json.dumps(seen, indent=1).encode())
    return summary

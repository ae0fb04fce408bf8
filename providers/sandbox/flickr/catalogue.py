"""The fake Flickr's deterministic content: one user, 36 photos in three albums, and uploads.

Everything is a pure function of a photo's index, so every process agrees without sharing
anything but the uploads table. JPEGs are drawn with Pillow on first use into the data dir.
"""

import hashlib
import io
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw

USER = {"nsid": "99999999@N00", "username": "sandboxuser", "fullname": "Sandbox User"}
# The user's default privacy for new uploads (flickr.prefs.getPrivacy): 2 = friends only, so an
# upload that honours it is visibly not public.
PRIVACY = 2
# flickr.prefs.getPrivacy's values as (is_public, is_friend, is_family).
PRIVACY_FLAGS = {1: (1, 0, 0), 2: (0, 1, 0), 3: (0, 0, 1), 4: (0, 1, 1), 5: (0, 0, 0)}
PHOTO_COUNT = 36
FIRST_ID = 50000000001
UPLOAD_FIRST_ID = 60000000000
SERVER, FARM = "65535", 66
ALBUMS = [
    {"id": "72157700000000001", "title": "Mountains", "description": "Peaks and valleys"},
    {"id": "72157700000000002", "title": "Sea", "description": "Coasts"},
    {"id": "72157700000000003", "title": "City", "description": "Streets at night"},
]
# Flickr's size suffixes, labels and longest edges (None: the original).
SIZES = [
    ("s", "Square", 75),
    ("q", "Large Square", 150),
    ("t", "Thumbnail", 100),
    ("m", "Small", 240),
    ("n", "Small 320", 320),
    ("", "Medium", 500),
    ("z", "Medium 640", 640),
    ("c", "Medium 800", 800),
    ("b", "Large", 1024),
    ("o", "Original", None),
]
SUFFIX_OF_EXTRA = {
    "url_sq": "s",
    "url_q": "q",
    "url_t": "t",
    "url_s": "m",
    "url_n": "n",
    "url_m": "",
}
SUFFIX_OF_EXTRA |= {"url_z": "z", "url_c": "c", "url_l": "b", "url_o": "o"}


def _hex(*parts) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


@dataclass(frozen=True)
class Photo:
    id: str
    title: str
    secret: str
    originalsecret: str
    width: int
    height: int
    album: str | None
    ispublic: int
    dateupload: int
    upload: bool = False
    description: str = ""
    isfriend: int = 0
    isfamily: int = 0
    lastupdate: int = 0

    @property
    def index(self) -> int:
        return int(self.id)


def catalogue_photo(index: int) -> Photo:
    """The index-th built-in photo (0-based)."""
    landscape = index % 4 != 3
    return Photo(
        id=str(FIRST_ID + index),
        title=f"Sandbox photo {index + 1:02d}",
        secret=_hex("secret", index)[:10],
        originalsecret=_hex("original", index)[:10],
        width=1600 if landscape else 1200,
        height=1200 if landscape else 1600,
        album=ALBUMS[index % len(ALBUMS)]["id"],
        ispublic=0 if index % 5 == 4 else 1,
        dateupload=1_700_000_000 + index * 3600,
        lastupdate=1_700_000_000 + index * 3600,
    )


def upload_photo(row) -> Photo:
    return Photo(
        id=str(UPLOAD_FIRST_ID + row.pk),
        title=row.title,
        secret=_hex("upload", row.pk)[:10],
        originalsecret=_hex("upload-original", row.pk)[:10],
        width=0,
        height=0,
        album=None,
        ispublic=int(row.is_public),
        dateupload=int(row.created.timestamp()),
        upload=True,
        description=row.description,
        isfriend=int(row.is_friend),
        isfamily=int(row.is_family),
        lastupdate=int(row.updated.timestamp()),
    )


def all_photos() -> list[Photo]:
    """Newest first, as Flickr lists a photostream: uploads, then the built-in photos."""
    from providers.sandbox.models import FlickrUpload

    uploads = [upload_photo(row) for row in FlickrUpload.objects.order_by("-pk")]
    return uploads + [catalogue_photo(i) for i in reversed(range(PHOTO_COUNT))]


def find_photo(photo_id: str) -> Photo | None:
    from providers.sandbox.models import FlickrUpload

    try:
        number = int(photo_id)
    except (TypeError, ValueError):
        return None
    if FIRST_ID <= number < FIRST_ID + PHOTO_COUNT:
        return catalogue_photo(number - FIRST_ID)
    row = FlickrUpload.objects.filter(pk=number - UPLOAD_FIRST_ID).first()
    return upload_photo(row) if row else None


def album(album_id: str) -> dict | None:
    return next((a for a in ALBUMS if a["id"] == album_id), None)


def album_photos(album_id: str) -> list[Photo]:
    return [p for p in all_photos() if p.album == album_id]


def size_of(photo: Photo, edge: int | None, suffix: str) -> tuple[int, int]:
    width, height = photo.width, photo.height
    if photo.upload:
        width, height = Image.open(upload_path(photo)).size
    if suffix in ("s", "q"):
        return edge, edge
    if edge is None:
        return width, height
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def folder() -> Path:
    path = Path(settings.DATA_DIR) / "sandbox" / "flickr"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(photo: Photo) -> Path:
    return folder() / f"upload-{int(photo.id) - UPLOAD_FIRST_ID}.jpg"


def _draw_original(photo: Photo) -> Image.Image:
    """A photo-like picture: a sky-to-ground gradient, a sun and hills, all from the index."""
    index = int(photo.id) - FIRST_ID
    width, height = photo.width, photo.height
    top = ((index * 37) % 200 + 30, (index * 53) % 160 + 60, 200)
    bottom = (240, (index * 29) % 120 + 100, (index * 71) % 150 + 50)
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), gradient
    )
    draw = ImageDraw.Draw(image)
    sun_x, sun_y, radius = width * ((index % 7) + 1) // 8, height // 4, min(width, height) // 10
    draw.ellipse(
        (sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius), fill=(255, 230, 120)
    )
    points = [
        (x, int(height * 0.7 + math.sin(x / width * math.pi * (index % 3 + 2)) * height * 0.1))
        for x in range(0, width + 1, 20)
    ]
    draw.polygon(
        [(0, height), *points, (width, height)], fill=((index * 13) % 80, 110 + index % 60, 60)
    )
    draw.text((20, 20), photo.title, fill=(255, 255, 255))
    return image


def _exif(photo: Photo) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "OpenPicker"  # Make
    exif[0x0110] = "Sandbox Camera"  # Model
    exif[0x0132] = "2023:11:14 22:13:20"  # DateTime
    exif[0x010E] = photo.title  # ImageDescription
    return exif.tobytes()


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temp, path)


def image_bytes(photo: Photo, suffix: str) -> bytes:
    """The JPEG of one size of a photo, drawn (or resized from the upload) once, then read back."""
    if photo.upload and suffix == "o":
        return upload_path(
            photo
        ).read_bytes()  # an upload's original is the bytes sent, as on Flickr
    path = folder() / f"{photo.id}_{suffix or 'm'}.jpg"
    if not path.exists():
        if photo.upload:
            original = Image.open(upload_path(photo)).convert("RGB")
        else:
            original = _draw_original(photo)
        edge = dict((s, e) for s, _, e in SIZES)[suffix]
        width, height = size_of(photo, edge, suffix)
        if suffix in ("s", "q"):
            side = min(original.size)
            left, top = (original.width - side) // 2, (original.height - side) // 2
            original = original.crop((left, top, left + side, top + side))
        image = (
            original
            if suffix == "o"
            else original.resize((width, height), Image.Resampling.LANCZOS)
        )
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, exif=_exif(photo))
        _write_atomically(path, out.getvalue())
    return path.read_bytes()


def save_upload(row, data: bytes) -> None:
    _write_atomically(upload_path(upload_photo(row)), data)

"""The JSON shapes a FileLink is described by: store responses, blobs and metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, UnidentifiedImageError

from picker import files, storage
from picker.models import FileLink
from picker.streams import CHUNK, seekable

DEFAULT_METADATA = (
    "size",
    "mimetype",
    "filename",
    "uploaded",
    "writeable",
    "location",
    "path",
    "container",
)
HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
METADATA_FLAGS = (*DEFAULT_METADATA, "width", "height", "cloud", "source_url", "exif", *HASHES)
IMAGE_HEADER_MAX_PIXELS = 500_000_000


def store_blob(link: FileLink) -> dict:
    """What /api/store, /process and multipart complete answer (Filestack's store response)."""
    return {
        "url": link.url,
        "handle": link.handle,
        "filename": link.filename,
        "size": link.size,
        "type": link.mimetype,
        "mimetype": link.mimetype,
        "key": link.key,
        "container": link.container,
        "client": link.client,
        "isWriteable": link.writeable,
        "status": "Stored",
    }


def metadata(link: FileLink, flags: list[str]) -> dict:
    """The requested metadata fields (the default set when no flag is given)."""
    wanted = [flag for flag in METADATA_FLAGS if flag in flags] or list(DEFAULT_METADATA)
    if ("width" in wanted or "height" in wanted) and link.width is None:
        _measure(link)
    out: dict = {}
    for name in wanted:
        if name == "size":
            out["size"] = link.size
        elif name == "mimetype":
            out["mimetype"] = link.mimetype
        elif name == "filename":
            out["filename"] = link.filename
        elif name == "uploaded":
            out["uploaded"] = link.created_at.timestamp() * 1000
        elif name == "writeable":
            out["writeable"] = link.writeable
        elif name == "location":
            out["location"] = _location_name(link)
        elif name == "path":
            out["path"] = link.key
        elif name == "container":
            out["container"] = link.container
        elif name in {"width", "height"}:
            out[name] = getattr(link, name)
        elif name == "cloud":
            out["cloud"] = link.kind == FileLink.Kind.SYMLINK
        elif name == "source_url":
            out["source_url"] = link.source_url
        elif name == "exif":
            out["exif"] = _exif(link)
        elif name in HASHES:
            out[name] = _digest(link, name)
    return out


def _location_name(link: FileLink) -> str:
    if link.kind == FileLink.Kind.SYMLINK:
        return link.provider
    return storage.location_of(link).location_name


@contextmanager
def _open_image(link: FileLink) -> Iterator[Image.Image]:
    """The image, opened from the first bytes read (Pillow reads the header only).

    A symlink's bytes come through its provider's opener (or the outbound guard).
    """
    with files.open_bytes(link) as reader, seekable(reader) as fp, Image.open(fp) as image:
        yield image


def _measure(link: FileLink) -> None:
    """Read the image header (not the pixels) once and keep width/height on the row."""
    if not link.mimetype.startswith("image/"):
        return
    try:
        with _open_image(link) as image:
            link.width, link.height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return
    FileLink.objects.filter(pk=link.pk, version=link.version).update(
        width=link.width, height=link.height
    )


def _exif(link: FileLink) -> dict:
    if not link.mimetype.startswith("image/"):
        return {}
    from PIL import ExifTags

    # Pillow's EXIF parser also raises SyntaxError (a block that is not TIFF) and KeyError (a
    # broken tag, while the items are read) on hostile files.
    try:
        with _open_image(link) as image:
            exif = image.getexif()
            return {ExifTags.TAGS.get(tag, str(tag)): _plain(value) for tag, value in exif.items()}
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        KeyError,
        Image.DecompressionBombError,
    ):
        return {}


def _plain(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, int | float | str):
        return value
    return str(value)


def _digest(link: FileLink, name: str) -> str | None:
    if name == "md5" and link.md5:
        return link.md5
    if name == "sha256" and link.sha256:
        return link.sha256
    digest = hashlib.new(name)
    with files.open_bytes(link) as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

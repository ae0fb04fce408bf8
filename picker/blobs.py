"""The JSON shapes a FileLink is described by: store responses, blobs and metadata.

Metadata never does work that grows with the file: `width`, `height` and `exif` open the image
lazily over ranged reads of its header (at most METADATA_READ_BUDGET bytes, never the pixels),
and digests come from the row (a store computes md5 and sha256; the others are computed once,
in one pass, and kept).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, UnidentifiedImageError

from picker import storage
from picker.models import FileLink
from picker.streams import RangeReader

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
# The most bytes of a file that width, height and exif read: a JPEG's APP segments before its
# frame header, a PNG's chunks before its pixels, a TIFF's header and first directory.
METADATA_READ_BUDGET = 4 * 1024 * 1024
# Bytes fetched per ranged read: one GET usually covers a whole header.
HEADER_READ_SIZE = 64 * 1024


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
    digests = _digests(link, [name for name in wanted if name in HASHES])
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
            out[name] = digests[name]
    return out


def _location_name(link: FileLink) -> str:
    if link.kind == FileLink.Kind.SYMLINK:
        return link.provider
    return storage.location_of(link).location_name


def _refuse_decoding() -> None:
    raise OSError("metadata reads headers only")


@contextmanager
def _open_image(link: FileLink) -> Iterator[Image.Image]:
    """The stored image, opened lazily over ranged reads: Pillow reads the header only.

    Decoding the pixels is refused (Pillow's PNG getexif would decode a whole image to look
    for an eXIf chunk after the pixels: a decompression bomb's worth of memory).
    """
    location = storage.location_of(link)
    raw = RangeReader(
        lambda start, end: storage.read_range(location, link.key, start, end),
        link.size or 0,
        budget=METADATA_READ_BUDGET,
    )
    with io.BufferedReader(raw, HEADER_READ_SIZE) as fp, Image.open(fp) as image:
        image.load = _refuse_decoding  # type: ignore[method-assign]
        yield image


def _measure(link: FileLink) -> None:
    """Read the image header (not the pixels) once and keep width/height on the row."""
    if link.kind != FileLink.Kind.STORED or not link.mimetype.startswith("image/"):
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
    if link.kind != FileLink.Kind.STORED or not link.mimetype.startswith("image/"):
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


def _digests(link: FileLink, names: list[str]) -> dict[str, str | None]:
    """The digests asked for, from the row; one missing there (sha1 and the other SHA-2s, or a
    row older than the store's own hashing) is computed in one pass over the file and kept, so
    no file is ever hashed twice for metadata."""
    missing = [name for name in names if not getattr(link, name)]
    if missing and link.kind == FileLink.Kind.STORED:
        hashers = {name: hashlib.new(name, usedforsecurity=False) for name in missing}
        for chunk in storage.read_range(storage.location_of(link), link.key):
            for hasher in hashers.values():
                hasher.update(chunk)
        computed = {name: hasher.hexdigest() for name, hasher in hashers.items()}
        # Kept only if the bytes are still those hashed (an overwrite bumps the version).
        FileLink.objects.filter(pk=link.pk, version=link.version).update(**computed)
        for name, value in computed.items():
            setattr(link, name, value)
    return {name: getattr(link, name) or None for name in names}

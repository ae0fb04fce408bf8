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

from picker import files, storage
from picker.models import FileLink
from picker.streams import CHUNK, RangeReader, ReadBudgetExceeded, seekable

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
def _header_reader(link: FileLink) -> Iterator[io.BufferedIOBase]:
    if link.kind == FileLink.Kind.STORED:
        location = storage.location_of(link)
        raw = RangeReader(
            lambda start, end: storage.read_range(location, link.key, start, end),
            link.size or 0,
            budget=METADATA_READ_BUDGET,
        )
        with io.BufferedReader(raw, HEADER_READ_SIZE) as fp:
            yield fp
        return
    with files.open_bytes(link) as opened:
        budgeted = _Budgeted(opened.read, METADATA_READ_BUDGET)
        with seekable(budgeted) as fp:  # type: ignore[arg-type]
            yield fp


class _Budgeted:
    """A forward reader that refuses to read past `budget` bytes (as an OSError, for Pillow)."""

    def __init__(self, read, budget: int):
        self._read, self._left = read, budget

    def read(self, n: int = CHUNK) -> bytes:
        if self._left <= 0:
            raise ReadBudgetExceeded(f"reading more than {METADATA_READ_BUDGET} bytes of a header")
        data = self._read(min(n, self._left))
        self._left -= len(data)
        return data


@contextmanager
def _open_image(link: FileLink) -> Iterator[Image.Image]:
    """The image, opened lazily: Pillow reads the header only, at most METADATA_READ_BUDGET bytes.

    A stored file is read through ranged reads (a TIFF's directory at the end of the file is
    fetched, not what precedes it); a symlink's bytes come through its provider's opener (or the
    outbound guard) as far as read. Decoding the pixels is refused: Pillow's PNG getexif would
    decode a whole image to look for an eXIf chunk after them (a decompression bomb's memory).
    """
    with _header_reader(link) as fp, Image.open(fp) as image:
        image.load = _refuse_decoding  # type: ignore[method-assign]
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


def _digests(link: FileLink, names: list[str]) -> dict[str, str | None]:
    """The digests asked for, from the row; those missing there (sha1 and the other SHA-2s, or a
    row older than the store's own hashing) are computed in one pass over the file and, for a
    stored file, kept, so no stored file is hashed twice for metadata. A symlink's bytes live at
    its provider and may change there: its digests are computed each time."""
    missing = [name for name in names if not getattr(link, name)]
    if missing:
        hashers = {name: hashlib.new(name, usedforsecurity=False) for name in missing}
        with files.open_bytes(link) as reader:
            while chunk := reader.read(CHUNK):
                for hasher in hashers.values():
                    hasher.update(chunk)
        computed = {name: hasher.hexdigest() for name, hasher in hashers.items()}
        if link.kind == FileLink.Kind.STORED:
            # Kept only if the bytes are still those hashed (an overwrite bumps the version).
            FileLink.objects.filter(pk=link.pk, version=link.version).update(**computed)
        for name, value in computed.items():
            setattr(link, name, value)
    return {name: getattr(link, name) or None for name in names}

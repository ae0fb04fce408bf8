"""EXIF: the orientation to apply, and a clean copy for the output (upright, no GPS)."""

from __future__ import annotations

import struct

from PIL import ExifTags, Image

# Orientation -> (transpose method, is the upright x axis mirrored, is the upright y mirrored).
ORIENTATIONS = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT, True, False),
    3: (Image.Transpose.ROTATE_180, True, True),
    4: (Image.Transpose.FLIP_TOP_BOTTOM, False, True),
    5: (Image.Transpose.TRANSPOSE, False, False),
    6: (Image.Transpose.ROTATE_270, True, False),
    7: (Image.Transpose.TRANSVERSE, True, True),
    8: (Image.Transpose.ROTATE_90, False, True),
}
EXIF_ERRORS = (ValueError, TypeError, KeyError, IndexError, struct.error, OSError)
_EXIF_IMAGE_WIDTH, _EXIF_IMAGE_HEIGHT = 0xA002, 0xA003
MAX_JPEG_EXIF = 65_000


def read_exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except EXIF_ERRORS:
        return None


def exif_orientation(exif: Image.Exif | None) -> int:
    try:
        value = int(exif.get(ExifTags.Base.Orientation, 1)) if exif is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if value in ORIENTATIONS else 1


def exif_bytes(exif: Image.Exif, size: tuple[int, int]) -> bytes | None:
    """The source EXIF, upright (Orientation 1), without GPS, with the new pixel size."""
    try:
        # A fresh block: Exif.tobytes() would re-add a GPS IFD it had once parsed, and the
        # thumbnail (IFD1) of the uncropped original is left behind.
        clean = Image.Exif()
        for tag, value in exif.items():
            if tag == ExifTags.IFD.GPSInfo:
                continue
            if tag == ExifTags.IFD.Exif:
                value = dict(exif.get_ifd(tag))
                if ExifTags.IFD.Interop in value:
                    value[ExifTags.IFD.Interop] = exif.get_ifd(ExifTags.IFD.Interop)
                for key, length in ((_EXIF_IMAGE_WIDTH, size[0]), (_EXIF_IMAGE_HEIGHT, size[1])):
                    if key in value:
                        value[key] = length
            clean[tag] = value
        if ExifTags.Base.Orientation in clean:
            clean[ExifTags.Base.Orientation] = 1
        return clean.tobytes()
    except EXIF_ERRORS:
        return None

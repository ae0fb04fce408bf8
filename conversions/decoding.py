"""Opening untrusted image bytes: a format allow-list, and the pixel cap before decoding."""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from PIL import Image, features

from picker.errors import PickerError
from picker.streams import ReadBudgetExceeded

ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP") + (
    ("AVIF",) if features.check("avif") else ()
)
HINTS = {
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "pjpg": "JPEG",
    "image/jpeg": "JPEG",
    "png": "PNG",
    "image/png": "PNG",
    "webp": "WEBP",
    "image/webp": "WEBP",
    "gif": "GIF",
    "image/gif": "GIF",
    "tif": "TIFF",
    "tiff": "TIFF",
    "image/tiff": "TIFF",
    "bmp": "BMP",
    "image/bmp": "BMP",
    "avif": "AVIF",
    "image/avif": "AVIF",
}
# What a malformed file makes Pillow raise while it identifies or decodes it.
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    ZeroDivisionError,
)


class ImageRefused(PickerError):
    """The source is not an image in an allowed format, or cannot be decoded."""

    status = 400
    code = "image_refused"


class ImageTooLarge(PickerError):
    """The image (or the result) has more pixels than the configured cap."""

    status = 413
    code = "image_too_large"


class PixelBudgetExceeded(PickerError):
    """The chain as a whole would process more pixels than the configured budget."""

    status = 400
    code = "pixel_budget"


@contextmanager
def bomb_warnings(cap: int) -> Iterator[None]:
    # Our cap is checked from the header before any decoding; the filter also catches Pillow's
    # later checks (e.g. GIF frame sizes). When the operator allows more than Pillow's own
    # threshold, its warning would contradict the setting, so it is silenced instead.
    # catch_warnings is process-global: a concurrent thread can at worst leave this filter set.
    action = "error" if cap <= (Image.MAX_IMAGE_PIXELS or cap) else "ignore"
    with warnings.catch_warnings():
        warnings.simplefilter(action, Image.DecompressionBombWarning)
        yield


@contextmanager
def open_image(fp: BinaryIO, hint: str | None) -> Iterator[Image.Image]:
    formats = ALLOWED_FORMATS
    preferred = HINTS.get((hint or "").strip().lower())
    if preferred in formats:
        formats = (preferred, *(f for f in formats if f != preferred))
    try:
        im = Image.open(fp, formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"the image has too many pixels ({error})") from None
    except ReadBudgetExceeded:
        raise  # not the file's fault: the caller reads no further (picker.streams)
    except Image.UnidentifiedImageError:
        allowed = ", ".join(ALLOWED_FORMATS)
        raise ImageRefused(f"the file is not an image in an allowed format ({allowed})") from None
    except DECODE_ERRORS as error:
        raise ImageRefused(f"the image header cannot be read ({error})") from None
    with im:
        yield im


def check_pixels(size: tuple[int, int], cap: int, what: str = "the image") -> None:
    if size[0] * size[1] > cap:
        raise ImageTooLarge(f"{what} is {size[0]}x{size[1]} pixels, more than the {cap:,} allowed")

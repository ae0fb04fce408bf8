"""The Pillow engine: decode an image once, apply the validated operations, encode the result.

Pipeline: open with a format allow-list -> pixel cap from the header -> JPEG draft (shrink on
load) -> decode -> normalise the colour mode -> EXIF orientation -> operations -> encode.

- The EXIF orientation is always applied first, so every operation and size refers to the
  upright image; `rotate=deg:exif` is therefore a no-op.
- Crops are kept as a float box and folded into the next resize: crop-then-resize resamples
  once and may still use the draft (the box is scaled by the draft factor).
- Output format: the explicit one, else the source's when it is a web format (jpg, png, webp,
  avif), else png for graphics (alpha, palette, 1-bit) and jpg for photos.
- Metadata: the ICC profile is kept whenever it matches the output's colour space (it is colour,
  not metadata). EXIF is copied upright (Orientation 1), without GPS and thumbnail, unless
  no_metadata or output strip; XMP and comments are never copied.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from PIL import Image, features

from conversions.colour import fill_colour, flatten, icc_space, normalise, rgba
from conversions.decoding import (
    DECODE_ERRORS,
    ImageRefused,
    ImageTooLarge,
    PixelBudgetExceeded,
    bomb_warnings,
    check_pixels,
    open_image,
)
from conversions.exif import MAX_JPEG_EXIF, ORIENTATIONS, exif_bytes, exif_orientation, read_exif
from conversions.operations import (
    Compress,
    ConversionError,
    Crop,
    Flip,
    Flop,
    NoMetadata,
    Operation,
    Output,
    Quality,
    Resize,
    Rotate,
)
from picker.streams import seekable

__all__ = [
    "ImageRefused",
    "ImageTooLarge",
    "PixelBudgetExceeded",
    "Rendered",
    "check_chain",
    "probe",
    "render",
]

RESAMPLE = Image.Resampling.LANCZOS
# After a JPEG draft the remaining factor is usually < 2, so the gap rarely matters there. For
# sources without a draft, line art 4000 -> 400 px measured: gap 2.0 about 2x faster than 3.0
# but off a full LANCZOS by 2.2/255 on average (3.0: 0.1/255) - quality wins.
REDUCING_GAP = 3.0
AVIF = features.check("avif")
# Pillow reports a JPEG with a multi-picture extension (many phone cameras) as MPO.
_WEB_OUTPUT = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}
_ENCODERS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}
MIMETYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
DEFAULT_QUALITY = {"jpg": 85, "webp": 80, "avif": 60}
_RIGHT_ANGLES = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Rendered:
    """An encoded rendition."""

    data: bytes
    mimetype: str
    format: str
    width: int
    height: int


@dataclass(frozen=True)
class _Encoding:
    format: str | None
    progressive: bool
    quality: int | None
    compress: bool
    strip: bool
    background: str | None


def render(
    source: BinaryIO,
    operations: Sequence[Operation],
    *,
    max_pixels: int | None = None,
    pixel_budget: int | None = None,
    source_format_hint: str | None = None,
) -> Rendered:
    """Decode `source`, apply `operations` in order and encode the result."""
    cap = max_pixels or settings.OPENPICKER_MAX_PIXELS
    budget = pixel_budget or settings.OPENPICKER_CONVERT_PIXEL_BUDGET
    encoding = _encoding(operations)
    steps = [op for op in operations if _is_geometric(op)]
    try:
        with seekable(source) as fp, bomb_warnings(cap), open_image(fp, source_format_hint) as im:
            check_pixels(im.size, cap)
            return _render(im, steps, encoding, cap, budget)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"the image has too many pixels ({error})") from None


def probe(source: BinaryIO) -> tuple[int, int, str]:
    """Width, height (upright, when the header says) and format name, from the header only."""
    with seekable(source) as fp, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with open_image(fp, None) as im:
            width, height = im.size
            # Pillow's TIFF reader turns the image itself; PNG's getexif would decode it.
            header_exif = im.format not in ("TIFF", "PNG") or "exif" in im.info
            if header_exif and exif_orientation(read_exif(im)) in (5, 6, 7, 8):
                width, height = height, width
            return width, height, _WEB_OUTPUT.get(im.format, im.format.lower())


def _is_geometric(op: Operation) -> bool:
    if isinstance(op, Rotate):
        # The orientation is always applied first, so rotate=exif has nothing left to do.
        return op.deg != "exif" and op.deg % 360 != 0
    if isinstance(op, (Resize, Crop, Flip, Flop)):
        return True
    if isinstance(op, (Output, Quality, Compress, NoMetadata)):
        return False
    raise ConversionError(f"{op.name or type(op).__name__}: not an image operation")


def _encoding(operations: Sequence[Operation]) -> _Encoding:
    fmt = quality = background = None
    task_quality = None
    progressive = compress = strip = False
    for op in operations:
        if isinstance(op, Output):
            if op.format:
                fmt, progressive = ("jpg", True) if op.format == "pjpg" else (op.format, False)
            quality = op.quality or quality
            strip = strip or op.strip
            compress = compress or op.compress
            background = op.background or background
        elif isinstance(op, Quality):
            task_quality = op.value
        elif isinstance(op, Compress):
            compress = True
        elif isinstance(op, NoMetadata):
            strip = True
    if fmt == "avif" and not AVIF:
        raise ConversionError("output: avif is not available on this server")
    return _Encoding(fmt, progressive, quality or task_quality, compress, strip, background)


def check_chain(
    operations: Sequence[Operation],
    size: tuple[int, int],
    *,
    max_pixels: int | None = None,
    pixel_budget: int | None = None,
) -> None:
    """Refuse a chain on an upright source of `size` before any pixel is decoded: every step's
    result within the pixel cap, and the pixels of the source and of every result together
    within the chain's budget."""
    cap = max_pixels or settings.OPENPICKER_MAX_PIXELS
    budget = pixel_budget or settings.OPENPICKER_CONVERT_PIXEL_BUDGET
    _encoding(operations)
    check_pixels(size, cap)
    _check_chain([op for op in operations if _is_geometric(op)], size, cap, budget)


def _render(
    im: Image.Image, steps: list[Operation], encoding: _Encoding, cap: int, budget: int
) -> Rendered:
    try:
        if im.format not in ("JPEG", "MPO"):
            # No draft to wait for, and a PNG may keep its EXIF after the pixels.
            im.load()
        exif = read_exif(im)
        orientation = exif_orientation(exif)
        width, height = (im.height, im.width) if orientation in (5, 6, 7, 8) else im.size
        _check_chain(steps, (width, height), cap, budget)
        factor = _draft(im, steps, (width, height))
        im.load()
        img = normalise(im)
    except DECODE_ERRORS as error:
        raise ImageRefused(f"the image cannot be decoded ({error})") from None
    icc = None if im.mode == "CMYK" else im.info.get("icc_profile")
    source_exif = exif if "exif" in im.info else None
    fmt = encoding.format or _WEB_OUTPUT.get(im.format or "")
    if fmt is None:
        # GIF, TIFF and BMP: lossless for graphics (palette, 1-bit, alpha), JPEG for photos.
        graphic = img.mode in ("LA", "RGBA") or im.mode in ("P", "PA", "1")
        fmt = "png" if graphic else "jpg"

    method, mirror_x, mirror_y = ORIENTATIONS.get(orientation, (None, False, False))
    if method is not None:
        img = img.transpose(method)
    # The box is the area of `img` that holds the current logical image of `size` pixels: crops
    # only move it, a resize resamples it, anything else first makes it real.
    box: Box = (0.0, 0.0, float(img.width), float(img.height))
    if factor > 1:
        # A draft's last row/column covers a partial block; a mirroring orientation moves it to
        # the origin, so the exact source area then starts that fraction of a pixel in.
        off_x = (img.width * factor - width) / factor if mirror_x else 0.0
        off_y = (img.height * factor - height) / factor if mirror_y else 0.0
        box = (off_x, off_y, off_x + width / factor, off_y + height / factor)
    size = (width, height)
    for op in steps:
        if isinstance(op, Crop):
            box, size = _crop(box, size, op)
        elif isinstance(op, Resize):
            scaled_w, scaled_h, left, top, target_w, target_h = _plan_resize(size, op)
            fx, fy = (box[2] - box[0]) / scaled_w, (box[3] - box[1]) / scaled_h
            box = (
                box[0] + left * fx,
                box[1] + top * fy,
                box[0] + (left + target_w) * fx,
                box[1] + (top + target_h) * fy,
            )
            size = (target_w, target_h)
            img = _resample(img, box, size)
            box = (0.0, 0.0, float(img.width), float(img.height))
        else:
            img = _turn(_resample(img, box, size), op, fmt, encoding.background)
            box, size = (0.0, 0.0, float(img.width), float(img.height)), img.size
    img = _resample(img, box, size)
    return _encode(img, fmt, encoding, icc, source_exif)


def _check_chain(steps: list[Operation], size: tuple[int, int], cap: int, budget: int) -> None:
    # The work of a chain grows with the pixels each step writes: the source's count once, then
    # every step's result (a resize to a thumbnail costs little, twenty flips of 80 MP do not).
    total = size[0] * size[1]
    for op in steps:
        if isinstance(op, Crop):
            size = _clamp(op, size)[2:]
        elif isinstance(op, Resize):
            size = _plan_resize(size, op)[4:]
        elif isinstance(op, Rotate):
            angle = math.radians(op.deg)
            cos, sin = round(abs(math.cos(angle)), 12), round(abs(math.sin(angle)), 12)
            # Pillow's expanded box: its rounding adds up to a pixel to the exact one.
            size = (
                math.ceil(size[0] * cos + size[1] * sin) + (1 if cos and sin else 0),
                math.ceil(size[0] * sin + size[1] * cos) + (1 if cos and sin else 0),
            )
        check_pixels(size, cap, "the result")
        total += size[0] * size[1]
        if total > budget:
            raise PixelBudgetExceeded(
                f"the chain processes more than {budget:,} pixels in all (the source and each "
                f"step's result; OPENPICKER_CONVERT_PIXEL_BUDGET)"
            )


def _draft(im: Image.Image, steps: list[Operation], size: tuple[int, int]) -> int:
    """Ask libjpeg to decode at 1/2, 1/4 or 1/8 scale when the chain is [crop...] resize."""
    if im.format not in ("JPEG", "MPO"):
        return 1
    for op in steps:
        if isinstance(op, Crop):
            size = _clamp(op, size)[2:]
            continue
        if isinstance(op, Resize):
            sw, sh = _plan_resize(size, op)[:2]
            # The exact target, no headroom: the largest 1/k scale still >= the resize input.
            factor = next((k for k in (8, 4, 2) if k * sw <= size[0] and k * sh <= size[1]), 1)
            if factor > 1:
                stored_width = im.width
                drafted = im.draft(im.mode, (im.width // factor, im.height // factor))
                if drafted is not None:
                    return round(stored_width / drafted[1][2])
        return 1
    return 1


def _plan_resize(size: tuple[int, int], op: Resize) -> tuple[int, int, int, int, int, int]:
    """Scaled width and height, the cut's left and top, and the final width and height."""
    width, height = size
    w, h = op.width, op.height
    if op.fit == "scale" and w and h:
        return w, h, 0, 0, w, h
    # The scale is num/den, kept in integers so that the given side comes out exact.
    if w and h:
        # clip and max take the smaller ratio (fit inside), crop the larger (fill).
        by_width = (w * height <= h * width) != (op.fit == "crop")
        num, den = (w, width) if by_width else (h, height)
    else:
        num, den = (w, width) if w else (h, height)
    if op.fit == "max" and num > den:
        num, den = 1, 1
    scaled_w, scaled_h = _scaled(width, num, den), _scaled(height, num, den)
    if op.fit != "crop" or not (w and h):
        return scaled_w, scaled_h, 0, 0, scaled_w, scaled_h
    scaled_w, scaled_h = max(scaled_w, w), max(scaled_h, h)
    vertical, horizontal = op.align
    left = {"left": 0, "center": (scaled_w - w) // 2, "right": scaled_w - w}[horizontal]
    top = {"top": 0, "middle": (scaled_h - h) // 2, "bottom": scaled_h - h}[vertical]
    return scaled_w, scaled_h, left, top, w, h


def _scaled(length: int, num: int, den: int) -> int:
    # length * num / den rounded half up, and never below one pixel.
    return max(1, (2 * length * num + den) // (2 * den))


def _clamp(op: Crop, size: tuple[int, int]) -> tuple[int, int, int, int]:
    x, y, w, h = op.dim
    if x >= size[0] or y >= size[1]:
        raise ConversionError(f"crop: [{x},{y},{w},{h}] is outside the {size[0]}x{size[1]} image")
    return x, y, min(w, size[0] - x), min(h, size[1] - y)


def _crop(box: Box, size: tuple[int, int], op: Crop) -> tuple[Box, tuple[int, int]]:
    x, y, w, h = _clamp(op, size)
    fx, fy = (box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1]
    return (box[0] + x * fx, box[1] + y * fy, box[0] + (x + w) * fx, box[1] + (y + h) * fy), (w, h)


def _resample(img: Image.Image, box: Box, size: tuple[int, int]) -> Image.Image:
    if size == img.size and box == (0, 0, img.width, img.height):
        return img
    whole = tuple(round(v) for v in box)
    if (
        all(abs(v - r) < 1e-6 for v, r in zip(box, whole, strict=True))
        and (whole[2] - whole[0], whole[3] - whole[1]) == size
    ):
        return img.crop(whole)
    return img.resize(size, RESAMPLE, box=box, reducing_gap=REDUCING_GAP)


def _turn(img: Image.Image, op: Operation, fmt: str, background: str | None) -> Image.Image:
    if isinstance(op, Flip):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if isinstance(op, Flop):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert isinstance(op, Rotate) and isinstance(op.deg, int)
    deg = op.deg % 360
    if deg in _RIGHT_ANGLES:
        return img.transpose(_RIGHT_ANGLES[deg])
    img, fill = fill_colour(img, op.background, fmt, background)
    # Filestack turns clockwise, Pillow counter-clockwise.
    return img.rotate(-deg, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def _encode(
    img: Image.Image,
    fmt: str,
    encoding: _Encoding,
    icc: bytes | None,
    exif: Image.Exif | None,
) -> Rendered:
    if fmt == "jpg" and img.mode in ("LA", "RGBA"):
        img = flatten(img, rgba(encoding.background or "FFFFFFFF")[:3])
    elif fmt == "webp" and img.mode in ("L", "LA"):
        img = img.convert("RGBA" if img.mode == "LA" else "RGB")
    elif fmt == "avif" and img.mode == "LA":
        img = img.convert("RGBA")
    params: dict[str, object] = {}
    if icc and icc_space(img.mode) == icc[16:20]:
        params["icc_profile"] = icc
    if exif is not None and not encoding.strip:
        data = exif_bytes(exif, img.size)
        if data and (fmt != "jpg" or len(data) <= MAX_JPEG_EXIF):
            params["exif"] = data
    quality = encoding.quality or DEFAULT_QUALITY.get(fmt)
    if fmt == "jpg":
        params.update(quality=quality, optimize=encoding.compress, progressive=encoding.progressive)
    elif fmt == "png":
        params.update({"optimize": True} if encoding.compress else {"compress_level": 6})
    elif fmt == "webp":
        params.update(quality=quality, method=6 if encoding.compress else 4)
    else:
        params.update(quality=quality, speed=4 if encoding.compress else 6)
    # Savers fall back to `info` for comments, XMP, profiles and transparency: only params count.
    img.info = {}
    buffer = io.BytesIO()
    img.save(buffer, format=_ENCODERS[fmt], **params)
    return Rendered(buffer.getvalue(), MIMETYPES[fmt], fmt, img.width, img.height)

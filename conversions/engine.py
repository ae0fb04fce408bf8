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

import functools
import io
import math
import struct
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from PIL import ExifTags, Image, features

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littlecms
    ImageCms = None  # type: ignore[assignment]

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
from picker.errors import PickerError

DEFAULT_MAX_PIXELS = 80_000_000
SPOOL_MEMORY = 16 * 1024 * 1024
CHUNK = 1024 * 1024
RESAMPLE = Image.Resampling.LANCZOS
# After a JPEG draft the remaining factor is usually < 2, so the gap rarely matters there. For
# sources without a draft, line art 4000 -> 400 px measured: gap 2.0 about 2x faster than 3.0
# but off a full LANCZOS by 2.2/255 on average (3.0: 0.1/255) - quality wins.
REDUCING_GAP = 3.0
AVIF = features.check("avif")
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP") + (
    ("AVIF",) if AVIF else ()
)
# Pillow reports a JPEG with a multi-picture extension (many phone cameras) as MPO.
_WEB_OUTPUT = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}
_ENCODERS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}
MIMETYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
DEFAULT_QUALITY = {"jpg": 85, "webp": 80, "avif": 60}
_ALPHA_OUTPUTS = {"png", "webp", "avif"}
_HINTS = {
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
# Orientation -> (transpose method, is the upright x axis mirrored, is the upright y mirrored).
_ORIENTATIONS = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT, True, False),
    3: (Image.Transpose.ROTATE_180, True, True),
    4: (Image.Transpose.FLIP_TOP_BOTTOM, False, True),
    5: (Image.Transpose.TRANSPOSE, False, False),
    6: (Image.Transpose.ROTATE_270, True, False),
    7: (Image.Transpose.TRANSVERSE, True, True),
    8: (Image.Transpose.ROTATE_90, False, True),
}
_RIGHT_ANGLES = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
# What a malformed file makes Pillow raise while it identifies or decodes it.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    ZeroDivisionError,
)
_EXIF_ERRORS = (ValueError, TypeError, KeyError, IndexError, struct.error, OSError)
_EXIF_IMAGE_WIDTH, _EXIF_IMAGE_HEIGHT = 0xA002, 0xA003
_MAX_JPEG_EXIF = 65_000

Box = tuple[float, float, float, float]


class ImageRefused(PickerError):
    """The source is not an image in an allowed format, or cannot be decoded."""

    status = 400
    code = "image_refused"


class ImageTooLarge(PickerError):
    """The image (or the result) has more pixels than the configured cap."""

    status = 413
    code = "image_too_large"


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
    source_format_hint: str | None = None,
) -> Rendered:
    """Decode `source`, apply `operations` in order and encode the result."""
    cap = max_pixels or getattr(settings, "OPENPICKER_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    encoding = _encoding(operations)
    steps = [op for op in operations if _is_geometric(op)]
    try:
        with _seekable(source) as fp, _bomb_warnings(cap), _open(fp, source_format_hint) as im:
            _check_pixels(im.size, cap)
            return _render(im, steps, encoding, cap)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"the image has too many pixels ({error})") from None


def probe(source: BinaryIO) -> tuple[int, int, str]:
    """Width, height (upright, when the header says) and format name, from the header only."""
    with _seekable(source) as fp, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with _open(fp, None) as im:
            width, height = im.size
            # Pillow's TIFF reader turns the image itself; PNG's getexif would decode it.
            header_exif = im.format not in ("TIFF", "PNG") or "exif" in im.info
            if header_exif and _orientation(_exif(im)) in (5, 6, 7, 8):
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


@contextmanager
def _seekable(source: BinaryIO) -> Iterator[BinaryIO]:
    try:
        usable = source.seekable() and source.tell() == 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        yield source
        return
    with _Spool(source) as spool:
        yield spool  # type: ignore[misc]


class _Spool(io.RawIOBase):
    """A seekable view of a forward-only stream, copied to a spooled file only as far as read.

    Pillow seeks while it identifies and decodes; spooling lazily means a large file that is not
    an image is refused after its first bytes, not after all of it has been downloaded.
    """

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        self._length = 0
        self._position = 0
        self._exhausted = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._fill(None)
            offset += self._length
        elif whence == io.SEEK_CUR:
            offset += self._position
        if offset < 0:
            raise ValueError("negative seek position")
        self._position = offset
        return offset

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self._fill(self._position + len(buffer))
        self._file.seek(self._position)
        count = self._file.readinto(buffer)
        self._position += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()

    def _fill(self, end: int | None) -> None:
        self._file.seek(self._length)
        while not self._exhausted and (end is None or self._length < end):
            chunk = self._source.read(CHUNK)
            if not chunk:
                self._exhausted = True
            else:
                self._file.write(chunk)
                self._length += len(chunk)


@contextmanager
def _bomb_warnings(cap: int) -> Iterator[None]:
    # Our cap is checked from the header before any decoding; the filter also catches Pillow's
    # later checks (e.g. GIF frame sizes). When the operator allows more than Pillow's own
    # threshold, its warning would contradict the setting, so it is silenced instead.
    # catch_warnings is process-global: a concurrent thread can at worst leave this filter set.
    action = "error" if cap <= (Image.MAX_IMAGE_PIXELS or cap) else "ignore"
    with warnings.catch_warnings():
        warnings.simplefilter(action, Image.DecompressionBombWarning)
        yield


@contextmanager
def _open(fp: BinaryIO, hint: str | None) -> Iterator[Image.Image]:
    formats = ALLOWED_FORMATS
    preferred = _HINTS.get((hint or "").strip().lower())
    if preferred in formats:
        formats = (preferred, *(f for f in formats if f != preferred))
    try:
        im = Image.open(fp, formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"the image has too many pixels ({error})") from None
    except Image.UnidentifiedImageError:
        allowed = ", ".join(ALLOWED_FORMATS)
        raise ImageRefused(f"the file is not an image in an allowed format ({allowed})") from None
    except _DECODE_ERRORS as error:
        raise ImageRefused(f"the image header cannot be read ({error})") from None
    with im:
        yield im


def _check_pixels(size: tuple[int, int], cap: int, what: str = "the image") -> None:
    if size[0] * size[1] > cap:
        raise ImageTooLarge(f"{what} is {size[0]}x{size[1]} pixels, more than the {cap:,} allowed")


def _exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except _EXIF_ERRORS:
        return None


def _orientation(exif: Image.Exif | None) -> int:
    try:
        value = int(exif.get(ExifTags.Base.Orientation, 1)) if exif is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if value in _ORIENTATIONS else 1


def _render(im: Image.Image, steps: list[Operation], encoding: _Encoding, cap: int) -> Rendered:
    try:
        if im.format not in ("JPEG", "MPO"):
            # No draft to wait for, and a PNG may keep its EXIF after the pixels.
            im.load()
        exif = _exif(im)
        orientation = _orientation(exif)
        width, height = (im.height, im.width) if orientation in (5, 6, 7, 8) else im.size
        _check_chain(steps, (width, height), cap)
        factor = _draft(im, steps, (width, height))
        im.load()
        img = _normalise(im)
    except _DECODE_ERRORS as error:
        raise ImageRefused(f"the image cannot be decoded ({error})") from None
    icc = None if im.mode == "CMYK" else im.info.get("icc_profile")
    source_exif = exif if "exif" in im.info else None
    fmt = encoding.format or _WEB_OUTPUT.get(im.format or "")
    if fmt is None:
        # GIF, TIFF and BMP: lossless for graphics (palette, 1-bit, alpha), JPEG for photos.
        graphic = img.mode in ("LA", "RGBA") or im.mode in ("P", "PA", "1")
        fmt = "png" if graphic else "jpg"

    method, mirror_x, mirror_y = _ORIENTATIONS.get(orientation, (None, False, False))
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


def _check_chain(steps: list[Operation], size: tuple[int, int], cap: int) -> None:
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
        _check_pixels(size, cap, "the result")


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
    img, fill = _fill(img, op.background, fmt, background)
    # Filestack turns clockwise, Pillow counter-clockwise.
    return img.rotate(-deg, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def _fill(
    img: Image.Image, color: str, fmt: str, background: str | None
) -> tuple[Image.Image, int | tuple[int, ...]]:
    r, g, b, a = _rgba(color)
    if img.mode in ("LA", "RGBA") or (a < 255 and fmt in _ALPHA_OUTPUTS):
        if img.mode in ("L", "RGB"):
            img = img.convert(img.mode + "A")
    elif a < 255:
        # No alpha in the output: the corners get the colour as it looks over the background.
        under = _rgba(background or "FFFFFFFF")
        r, g, b = (
            (c * a + u * (255 - a) + 127) // 255 for c, u in zip((r, g, b), under[:3], strict=True)
        )
        a = 255
    if img.mode in ("L", "LA") and not r == g == b:
        img = img.convert("RGBA" if img.mode == "LA" else "RGB")
    if img.mode in ("LA", "RGBA"):
        # Pillow resamples alpha images premultiplied, the fill colour included.
        r, g, b = ((c * a + 127) // 255 for c in (r, g, b))
    return img, {"L": r, "LA": (r, a), "RGB": (r, g, b), "RGBA": (r, g, b, a)}[img.mode]


def _rgba(color: str) -> tuple[int, int, int, int]:
    text = color.lstrip("#")
    text = text + "FF" if len(text) == 6 else text
    return tuple(int(text[i : i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]


def _normalise(im: Image.Image) -> Image.Image:
    """Bring any decoded mode to L, LA, RGB or RGBA."""
    mode = im.mode
    if mode in ("L", "RGB") and "transparency" in im.info:
        return im.convert(mode + "A")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode in ("P", "PA"):
        return im.convert("RGBA" if im.has_transparency_data else "RGB")
    if mode in ("La", "RGBa"):
        return im.convert(mode.upper())
    if mode == "CMYK":
        return _cmyk_to_rgb(im)
    if mode.startswith("I") or mode == "F":
        return _to_eight_bits(im)
    return im.convert("RGB")


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    icc = im.info.get("icc_profile")
    if icc and ImageCms is not None:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                im,
                profile,
                _srgb(),
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                outputMode="RGB",
                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a broken profile: the naive conversion below
        if converted is not None:
            return converted
    return im.convert("RGB")


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_eight_bits(im: Image.Image) -> Image.Image:
    """Scale 16-bit (and wider) greyscale to 0-255 rather than clipping it to white."""
    if im.mode == "F":
        high = im.getextrema()[1]
        scale = 255.0 if high <= 1.0 else 1.0 if high <= 255 else 255.0 / high
        return im.point(lambda v: v * scale).convert("L")
    if im.mode == "I":
        high = im.getextrema()[1]
        scale = 1.0 if high <= 255 else 1 / 257 if high <= 65535 else 255.0 / high
    else:
        im, scale = im.convert("I"), 1 / 257
    return im.point(lambda v: v * scale + 0.5).convert("L")


def _encode(
    img: Image.Image,
    fmt: str,
    encoding: _Encoding,
    icc: bytes | None,
    exif: Image.Exif | None,
) -> Rendered:
    if fmt == "jpg" and img.mode in ("LA", "RGBA"):
        img = _flatten(img, _rgba(encoding.background or "FFFFFFFF")[:3])
    elif fmt == "webp" and img.mode in ("L", "LA"):
        img = img.convert("RGBA" if img.mode == "LA" else "RGB")
    elif fmt == "avif" and img.mode == "LA":
        img = img.convert("RGBA")
    params: dict[str, object] = {}
    if icc and _icc_space(img.mode) == icc[16:20]:
        params["icc_profile"] = icc
    if exif is not None and not encoding.strip:
        data = _exif_bytes(exif, img.size)
        if data and (fmt != "jpg" or len(data) <= _MAX_JPEG_EXIF):
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


def _flatten(img: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    grey = img.mode == "LA" and rgb[0] == rgb[1] == rgb[2]
    base = Image.new("L", img.size, rgb[0]) if grey else Image.new("RGB", img.size, rgb)
    base.paste(img.convert(base.mode), mask=img.getchannel("A"))
    return base


def _icc_space(mode: str) -> bytes:
    return b"GRAY" if mode in ("L", "LA") else b"RGB "


def _exif_bytes(exif: Image.Exif, size: tuple[int, int]) -> bytes | None:
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
    except _EXIF_ERRORS:
        return None

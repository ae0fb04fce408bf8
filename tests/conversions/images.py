"""Test images made in code: quadrant and band markers, EXIF orientations, bombs, ICC profiles."""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

from PIL import Image, ImageCms

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)

# How a camera stores an upright picture for each EXIF orientation (the inverse of the
# transform a viewer applies): 6 means "turn 90 degrees clockwise to view", so it was stored
# turned 90 degrees counter-clockwise.
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def quadrants(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Solid quadrants: red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    w, h = size
    im = Image.new("RGB", size)
    im.paste(RED, (0, 0, w // 2, h // 2))
    im.paste(GREEN, (w // 2, 0, w, h // 2))
    im.paste(BLUE, (0, h // 2, w // 2, h))
    im.paste(YELLOW, (w // 2, h // 2, w, h))
    return im if mode == "RGB" else im.convert(mode)


def bands(size: tuple[int, int], vertical: bool) -> Image.Image:
    """Three equal bands red, green, blue: side by side (vertical) or stacked."""
    w, h = size
    im = Image.new("RGB", size)
    for i, color in enumerate((RED, GREEN, BLUE)):
        box = (
            (i * w // 3, 0, (i + 1) * w // 3, h)
            if vertical
            else (0, i * h // 3, w, (i + 1) * h // 3)
        )
        im.paste(color, box)
    return im


def grid(size: tuple[int, int]) -> Image.Image:
    """Hard vertical and horizontal edges that do not fall on 8-pixel block boundaries."""
    w, h = size
    im = Image.new("RGB", size, (255, 255, 255))
    for i, x in enumerate(range(0, w, 37)):
        if i % 2:
            im.paste((0, 0, 0), (x, 0, x + 37, h))
    for j, y in enumerate(range(0, h, 29)):
        if j % 2:
            im.paste(RED, (0, y, w, y + 10))
    return im


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def exif(orientation: int | None = None, *, gps: bool = False) -> Image.Exif:
    data = Image.Exif()
    data[0x010F] = "OpenPicker Camera"  # Make
    data[0x0110] = "Model 1"  # Model
    if orientation is not None:
        data[0x0112] = orientation
    details = data.get_ifd(0x8769)  # the Exif IFD
    details[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal
    details[0xA002] = 6000  # PixelXDimension
    details[0xA003] = 4000  # PixelYDimension
    if gps:
        ifd = data.get_ifd(0x8825)
        ifd[1] = "N"
        ifd[2] = (48.0, 51.0, 29.0)
        ifd[3] = "E"
        ifd[4] = (2.0, 17.0, 40.0)
    return data


def oriented_jpeg(upright: Image.Image, orientation: int, **params) -> bytes:
    """A JPEG whose pixels are stored as a camera would, tagged so that viewers show `upright`."""
    return oriented(upright, orientation, "JPEG", quality=95, **params)


def oriented(upright: Image.Image, orientation: int, fmt: str, **params) -> bytes:
    method = STORED_AS[orientation]
    stored = upright if method is None else upright.transpose(method)
    return encode(stored, fmt, exif=exif(orientation), **params)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A 1-bit greyscale PNG of width x height whose IDAT holds `rows` zero rows (all by default).

    Zeros deflate about 1000:1, so even a complete 30000x30000 image is ~100 KB on disk.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height if rows is None else rows)]
    idat = b"".join(parts) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """One sRGB profile per run: a new one carries a new creation time, so bytes differ."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def cmyk_profile(lab: tuple[float, float, float]) -> bytes:
    """A minimal ICC v2 CMYK output profile (lut8 A2B0) that maps every ink mix to one Lab colour.

    A profile this odd makes it visible whether the engine honoured it: a naive CMYK->RGB
    conversion cannot produce that colour from arbitrary ink values.
    """
    lightness, a, b = lab
    encoded = bytes((round(lightness * 255 / 100), round(a + 128), round(b + 128)))
    identity = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    ramp = bytes(range(256))
    lut = (
        b"mft1"
        + b"\x00" * 4
        + bytes((4, 3, 2, 0))
        + b"".join(_s15(v) for v in identity)
        + ramp * 4
        + encoded * 2**4
        + ramp * 3
    )
    white = b"XYZ " + b"\x00" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    text = b"test CMYK"
    desc = (
        b"desc"
        + b"\x00" * 4
        + struct.pack(">I", len(text) + 1)
        + text
        + b"\x00"
        + b"\x00" * 8  # no Unicode description
        + b"\x00" * 3  # no ScriptCode description
        + b"\x00" * 67
    )
    cprt = b"text" + b"\x00" * 4 + b"none\x00"
    tags = [(b"desc", desc), (b"wtpt", white), (b"cprt", cprt), (b"A2B0", lut)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = [], b""
    for signature, data in tags:
        padded = data + b"\x00" * (-len(data) % 4)
        table.append(signature + struct.pack(">II", offset + len(body), len(data)))
        body += padded
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + bytes((2, 0x10, 0, 0))
        + b"prtr"
        + b"CMYK"
        + b"Lab "
        + b"\x00" * 12
        + b"acsp"
        + b"\x00" * 24
        + struct.pack(">I", 0)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\x00" * 4
        + b"\x00" * 44
    )
    assert len(header) == 128, len(header)
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body

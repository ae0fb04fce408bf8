"""Colour modes: everything decoded becomes L, LA, RGB or RGBA; alpha, fills, ICC spaces."""

from __future__ import annotations

import functools
import io

from PIL import Image

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littlecms
    ImageCms = None  # type: ignore[assignment]

ALPHA_OUTPUTS = {"png", "webp", "avif"}


def normalise(im: Image.Image) -> Image.Image:
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
        return cmyk_to_rgb(im)
    if mode.startswith("I") or mode == "F":
        return to_eight_bits(im)
    return im.convert("RGB")


def cmyk_to_rgb(im: Image.Image) -> Image.Image:
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


def to_eight_bits(im: Image.Image) -> Image.Image:
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


def fill_colour(
    img: Image.Image, color: str, fmt: str, background: str | None
) -> tuple[Image.Image, int | tuple[int, ...]]:
    r, g, b, a = rgba(color)
    if img.mode in ("LA", "RGBA") or (a < 255 and fmt in ALPHA_OUTPUTS):
        if img.mode in ("L", "RGB"):
            img = img.convert(img.mode + "A")
    elif a < 255:
        # No alpha in the output: the corners get the colour as it looks over the background.
        under = rgba(background or "FFFFFFFF")
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


def rgba(color: str) -> tuple[int, int, int, int]:
    text = color.lstrip("#")
    text = text + "FF" if len(text) == 6 else text
    return tuple(int(text[i : i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]


def flatten(img: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    grey = img.mode == "LA" and rgb[0] == rgb[1] == rgb[2]
    base = Image.new("L", img.size, rgb[0]) if grey else Image.new("RGB", img.size, rgb)
    base.paste(img.convert(base.mode), mask=img.getchannel("A"))
    return base


def icc_space(mode: str) -> bytes:
    return b"GRAY" if mode in ("L", "LA") else b"RGB "

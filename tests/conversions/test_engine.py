"""Golden tests for the Pillow engine: sizes, markers, colour modes, metadata and refusals."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image, ImageOps, JpegImagePlugin, features

from conversions import engine
from conversions.engine import ImageRefused, ImageTooLarge, Rendered, probe, render
from conversions.operations import (
    Compress,
    ConversionError,
    Crop,
    Flip,
    Flop,
    NoMetadata,
    Output,
    Quality,
    Resize,
    Rotate,
)
from tests.conversions import images
from tests.conversions.images import BLUE, GREEN, RED, YELLOW

LANDSCAPE, PORTRAIT, SQUARE = (600, 400), (400, 600), (500, 500)
OUTPUTS = ["jpg", "pjpg", "png", "webp", "avif"]
MIMETYPES = {
    "jpg": "image/jpeg",
    "pjpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
}
PILLOW_FORMATS = {"jpg": "JPEG", "pjpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}
NAMED = {"red": RED, "green": GREEN, "blue": BLUE, "yellow": YELLOW, "white": (255,) * 3}


def test_pillow_has_avif():
    # The pinned Pillow wheel carries libavif; AVIF output is part of the contract, not optional.
    assert features.check("avif")


def run(data: bytes, *operations, **options) -> tuple[Rendered, Image.Image]:
    result = render(io.BytesIO(data), list(operations), **options)
    out = Image.open(io.BytesIO(result.data))
    out.load()
    assert out.size == (result.width, result.height)
    assert result.mimetype == Image.MIME[out.format]
    return result, out


def rgb(im: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    pixel = im.convert("RGB").getpixel((int(x), int(y)))
    return tuple(pixel)  # type: ignore[return-value]


def name_of(pixel: tuple[int, ...]) -> str:
    """The nearest of the marker colours (lossy codecs move the values a little)."""
    return min(
        NAMED, key=lambda n: sum((a - b) ** 2 for a, b in zip(NAMED[n], pixel[:3], strict=True))
    )


def quadrant_names(im: Image.Image) -> tuple[str, str, str, str]:
    w, h = im.size
    points = ((w / 4, h / 4), (3 * w / 4, h / 4), (w / 4, 3 * h / 4), (3 * w / 4, 3 * h / 4))
    return tuple(name_of(rgb(im, x, y)) for x, y in points)  # type: ignore[return-value]


UPRIGHT = ("red", "green", "blue", "yellow")


@pytest.fixture(scope="module")
def sources() -> dict[str, bytes]:
    return {
        name: images.encode(images.quadrants(size), "JPEG", quality=95)
        for name, size in (("landscape", LANDSCAPE), ("portrait", PORTRAIT), ("square", SQUARE))
    }


# --- sizes ----------------------------------------------------------------------------------

# (source, fit, width, height) -> output size, worked out by hand from Filestack's rules:
# clip fits inside (may grow), max fits inside and never grows, scale is exact (a missing side
# keeps the ratio), crop fills both sides and cuts; one side given -> crop behaves like clip.
GOLDEN_SIZES = [
    # landscape 600x400: down (w300 / h200 / 300x300), up (w900 / h800 / 1200x1000)
    ("landscape", "clip", 300, None, (300, 200)),
    ("landscape", "clip", None, 200, (300, 200)),
    ("landscape", "clip", 300, 300, (300, 200)),
    ("landscape", "clip", 900, None, (900, 600)),
    ("landscape", "clip", None, 800, (1200, 800)),
    ("landscape", "clip", 1200, 1000, (1200, 800)),
    ("landscape", "max", 300, None, (300, 200)),
    ("landscape", "max", None, 200, (300, 200)),
    ("landscape", "max", 300, 300, (300, 200)),
    ("landscape", "max", 900, None, (600, 400)),
    ("landscape", "max", None, 800, (600, 400)),
    ("landscape", "max", 1200, 1000, (600, 400)),
    ("landscape", "scale", 300, None, (300, 200)),
    ("landscape", "scale", None, 200, (300, 200)),
    ("landscape", "scale", 300, 300, (300, 300)),
    ("landscape", "scale", 900, None, (900, 600)),
    ("landscape", "scale", None, 800, (1200, 800)),
    ("landscape", "scale", 1200, 1000, (1200, 1000)),
    ("landscape", "crop", 300, None, (300, 200)),
    ("landscape", "crop", None, 200, (300, 200)),
    ("landscape", "crop", 300, 300, (300, 300)),
    ("landscape", "crop", 900, None, (900, 600)),
    ("landscape", "crop", None, 800, (1200, 800)),
    ("landscape", "crop", 1200, 1000, (1200, 1000)),
    # portrait 400x600: down (w200 / h300 / 300x300), up (w800 / h900 / 1000x1200)
    ("portrait", "clip", 200, None, (200, 300)),
    ("portrait", "clip", None, 300, (200, 300)),
    ("portrait", "clip", 300, 300, (200, 300)),
    ("portrait", "clip", 800, None, (800, 1200)),
    ("portrait", "clip", None, 900, (600, 900)),
    ("portrait", "clip", 1000, 1200, (800, 1200)),
    ("portrait", "max", 200, None, (200, 300)),
    ("portrait", "max", None, 300, (200, 300)),
    ("portrait", "max", 300, 300, (200, 300)),
    ("portrait", "max", 800, None, (400, 600)),
    ("portrait", "max", None, 900, (400, 600)),
    ("portrait", "max", 1000, 1200, (400, 600)),
    ("portrait", "scale", 200, None, (200, 300)),
    ("portrait", "scale", None, 300, (200, 300)),
    ("portrait", "scale", 300, 300, (300, 300)),
    ("portrait", "scale", 800, None, (800, 1200)),
    ("portrait", "scale", None, 900, (600, 900)),
    ("portrait", "scale", 1000, 1200, (1000, 1200)),
    ("portrait", "crop", 200, None, (200, 300)),
    ("portrait", "crop", None, 300, (200, 300)),
    ("portrait", "crop", 300, 300, (300, 300)),
    ("portrait", "crop", 800, None, (800, 1200)),
    ("portrait", "crop", None, 900, (600, 900)),
    ("portrait", "crop", 1000, 1200, (1000, 1200)),
    # square 500x500: down (w250 / h100 / 200x300), up (w750 / h1000 / 800x600)
    ("square", "clip", 250, None, (250, 250)),
    ("square", "clip", None, 100, (100, 100)),
    ("square", "clip", 200, 300, (200, 200)),
    ("square", "clip", 750, None, (750, 750)),
    ("square", "clip", None, 1000, (1000, 1000)),
    ("square", "clip", 800, 600, (600, 600)),
    ("square", "max", 250, None, (250, 250)),
    ("square", "max", None, 100, (100, 100)),
    ("square", "max", 200, 300, (200, 200)),
    ("square", "max", 750, None, (500, 500)),
    ("square", "max", None, 1000, (500, 500)),
    ("square", "max", 800, 600, (500, 500)),
    ("square", "scale", 250, None, (250, 250)),
    ("square", "scale", None, 100, (100, 100)),
    ("square", "scale", 200, 300, (200, 300)),
    ("square", "scale", 750, None, (750, 750)),
    ("square", "scale", None, 1000, (1000, 1000)),
    ("square", "scale", 800, 600, (800, 600)),
    ("square", "crop", 250, None, (250, 250)),
    ("square", "crop", None, 100, (100, 100)),
    ("square", "crop", 200, 300, (200, 300)),
    ("square", "crop", 750, None, (750, 750)),
    ("square", "crop", None, 1000, (1000, 1000)),
    ("square", "crop", 800, 600, (800, 600)),
    # rounding: half up, never below one pixel
    ("landscape", "clip", 301, None, (301, 201)),  # 400 * 301/600 = 200.67
    ("portrait", "clip", 3, None, (3, 5)),  # 600 * 3/400 = 4.5
    ("portrait", "clip", 1, None, (1, 2)),  # 1.5
    ("landscape", "clip", 1, None, (1, 1)),  # 0.67
    ("landscape", "clip", None, 1, (2, 1)),  # 1.5
    ("landscape", "max", 10_000, 10_000, (600, 400)),
]


@pytest.mark.parametrize(("source", "fit", "width", "height", "expected"), GOLDEN_SIZES)
def test_resize_sizes(sources, source, fit, width, height, expected):
    result, out = run(sources[source], Resize(width, height, fit))
    assert (result.width, result.height) == expected
    if min(expected) >= 8 and fit != "scale":
        # Aspect kept (crop: the cut is centred), so the quadrants stay in place.
        assert quadrant_names(out) == UPRIGHT


def test_scale_distorts_but_keeps_layout(sources):
    _, out = run(sources["landscape"], Resize(100, 300, "scale"))
    assert out.size == (100, 300)
    assert quadrant_names(out) == UPRIGHT


# --- crop fit alignment -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("horizontal", "expected"),
    [
        ("left", {50: "red", 150: "green"}),
        ("center", {25: "red", 100: "green", 175: "blue"}),
        ("right", {50: "green", 150: "blue"}),
    ],
)
def test_crop_fit_horizontal_align(horizontal, expected):
    # 600x400 with red | green | blue columns of 200: 200x200 crop scales to 300x200, cuts 100.
    data = images.encode(images.bands(LANDSCAPE, vertical=True), "PNG")
    _, out = run(data, Resize(200, 200, "crop", ("middle", horizontal)))
    assert out.size == (200, 200)
    assert {x: name_of(rgb(out, x, 100)) for x in expected} == expected


@pytest.mark.parametrize(
    ("vertical", "expected"),
    [
        ("top", {50: "red", 150: "green"}),
        ("middle", {25: "red", 100: "green", 175: "blue"}),
        ("bottom", {50: "green", 150: "blue"}),
    ],
)
def test_crop_fit_vertical_align(vertical, expected):
    data = images.encode(images.bands(PORTRAIT, vertical=False), "PNG")
    _, out = run(data, Resize(200, 200, "crop", (vertical, "center")))
    assert out.size == (200, 200)
    assert {y: name_of(rgb(out, 100, y)) for y in expected} == expected


def test_crop_fit_corner_align_on_upscale():
    data = images.encode(images.quadrants((60, 40)), "PNG")
    _, out = run(data, Resize(300, 300, "crop", ("bottom", "right")))
    # 60x40 -> 450x300, the right 300 columns kept: the yellow bottom-right dominates.
    assert out.size == (300, 300)
    assert name_of(rgb(out, 290, 290)) == "yellow"
    assert name_of(rgb(out, 200, 10)) == "green"
    assert name_of(rgb(out, 10, 290)) == "blue"  # blue ran from x=0 to 225 before the cut


# --- crop operation -------------------------------------------------------------------------


def test_crop_cuts_the_rectangle(sources):
    _, out = run(sources["landscape"], Crop((0, 0, 300, 200)))
    assert out.size == (300, 200)
    assert set(quadrant_names(out)) == {"red"}
    _, out = run(sources["landscape"], Crop((250, 150, 100, 100)))
    assert out.size == (100, 100)
    assert quadrant_names(out) == UPRIGHT


def test_crop_is_clamped_to_the_image(sources):
    result, out = run(sources["landscape"], Crop((500, 300, 200, 200)))
    assert (result.width, result.height) == (100, 100)
    assert set(quadrant_names(out)) == {"yellow"}


@pytest.mark.parametrize("dim", [(600, 0, 10, 10), (0, 400, 10, 10), (9000, 9000, 5, 5)])
def test_crop_outside_the_image_is_refused(sources, dim):
    with pytest.raises(ConversionError) as caught:
        render(io.BytesIO(sources["landscape"]), [Crop(dim)])
    assert caught.value.status == 400
    assert "outside" in caught.value.detail


def test_crop_then_resize_and_resize_then_crop(sources):
    # crop_first: the crop is in source pixels, then the 300x200 red area is resized.
    _, out = run(sources["landscape"], Crop((0, 0, 300, 200)), Resize(150))
    assert out.size == (150, 100)
    assert set(quadrant_names(out)) == {"red"}
    # default order: resize to 300x200 first, then the crop is in resized pixels.
    _, out = run(sources["landscape"], Resize(300), Crop((150, 100, 150, 100)))
    assert out.size == (150, 100)
    assert set(quadrant_names(out)) == {"yellow"}


# --- rotate, flip, flop ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deg", "size", "expected"),
    [
        (90, (400, 600), ("blue", "red", "yellow", "green")),
        (180, (600, 400), ("yellow", "blue", "green", "red")),
        (270, (400, 600), ("green", "yellow", "red", "blue")),
        (0, (600, 400), UPRIGHT),
    ],
)
def test_rotate_right_angles_clockwise(sources, deg, size, expected):
    _, out = run(sources["landscape"], Rotate(deg))
    assert out.size == size
    assert quadrant_names(out) == expected


def test_rotate_exif_is_a_no_op_after_auto_orientation():
    data = images.oriented_jpeg(images.quadrants(LANDSCAPE), 6)
    _, out = run(data, Rotate("exif"))
    assert out.size == LANDSCAPE
    assert quadrant_names(out) == UPRIGHT


def test_rotate_45_fills_corners_with_background(sources):
    _, out = run(sources["landscape"], Rotate(45, "00FF00FF"))
    # (600 + 400) * cos 45 = 707.1
    assert abs(out.width - 707) <= 2 and abs(out.height - 707) <= 2
    assert name_of(rgb(out, 2, 2)) == "green"
    assert name_of(rgb(out, out.width - 3, out.height - 3)) == "green"
    # Clockwise: the red top-left quadrant now points up.
    assert name_of(rgb(out, out.width / 2, out.height * 0.2)) == "red"


def test_rotate_45_keeps_background_alpha_when_the_output_can(sources):
    _, out = run(sources["landscape"], Rotate(45, "FF000080"), Output(format="png"))
    assert out.mode == "RGBA"
    corner = out.getpixel((1, 1))
    assert abs(corner[3] - 128) <= 2 and corner[0] >= 250 and corner[1] <= 5
    assert out.getpixel((out.width // 2, out.height // 2))[3] == 255
    # JPEG has no alpha: a transparent background shows the output background (white).
    _, out = run(sources["landscape"], Rotate(30, "00000000"))
    assert out.mode == "RGB" and min(rgb(out, 1, 1)) >= 245


def test_flip_and_flop(sources):
    _, out = run(sources["landscape"], Flip())
    assert quadrant_names(out) == ("blue", "yellow", "red", "green")
    _, out = run(sources["landscape"], Flop())
    assert quadrant_names(out) == ("green", "red", "yellow", "blue")
    _, out = run(sources["landscape"], Flip(), Flop())
    assert quadrant_names(out) == ("yellow", "blue", "green", "red")


# --- EXIF orientation -----------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_fixture_is_what_viewers_show(orientation):
    upright = images.quadrants(LANDSCAPE)
    stored = Image.open(io.BytesIO(images.oriented_jpeg(upright, orientation)))
    assert stored.getexif()[0x0112] == orientation
    assert quadrant_names(ImageOps.exif_transpose(stored)) == UPRIGHT


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_first(orientation):
    data = images.oriented_jpeg(images.quadrants(LANDSCAPE), orientation)
    result, out = run(data)
    assert out.size == LANDSCAPE
    assert quadrant_names(out) == UPRIGHT
    assert out.getexif().get(0x0112, 1) == 1
    # Sizes refer to the upright image, also through the draft (4:1 here).
    _, out = run(data, Resize(150, 150))
    assert out.size == (150, 100)
    assert quadrant_names(out) == UPRIGHT
    # Operations too: the crop takes the upright top-left.
    _, out = run(data, Crop((0, 0, 300, 200)), Resize(30))
    assert out.size == (30, 20)
    assert set(quadrant_names(out)) == {"red"}


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF", "AVIF"])
def test_exif_orientation_in_other_containers(fmt):
    data = images.oriented(images.quadrants(LANDSCAPE), 6, fmt)
    # Stored turned; Pillow's TIFF reader itself turns it upright on load (and must not twice).
    assert Image.open(io.BytesIO(data)).size == (LANDSCAPE if fmt == "TIFF" else PORTRAIT)
    _, out = run(data, Resize(300))
    assert out.size == (300, 200)
    assert quadrant_names(out) == UPRIGHT


@pytest.mark.parametrize("orientation", range(1, 9))
def test_draft_matches_a_full_decode_with_odd_sizes(orientation):
    # 603x401 is not a multiple of the 8-pixel block: the draft's partial last block must not
    # shift the picture, whichever corner the orientation moves it to.
    upright = images.grid((603, 401))
    data = images.oriented_jpeg(upright, orientation)
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).resize(
        (75, 50), Image.Resampling.LANCZOS
    )
    _, out = run(data, Resize(75, 50), Output(format="png"))
    diff = sum(abs(a - b) for a, b in zip(out.tobytes(), reference.tobytes(), strict=True))
    # About 6 per channel from the scaled decode itself; a one-block-fraction shift gives 30+.
    assert diff / len(out.tobytes()) < 12


def test_draft_is_requested_for_the_exact_target(monkeypatch):
    calls = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        calls.append(size)
        return original(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    data = images.encode(images.quadrants((1600, 1200)), "JPEG", quality=90)
    _, out = run(data, Resize(200, 200))
    assert calls == [(200, 150)] and out.size == (200, 150)  # 1/8
    calls.clear()
    _, out = run(data, Resize(500, 500))
    assert calls == [(800, 600)] and out.size == (500, 375)  # 1/2: 1/4 would be 400 < 500
    calls.clear()
    _, out = run(data, Crop((0, 0, 800, 600)), Resize(100))  # crop first, still 1/8
    assert calls == [(200, 150)] and out.size == (100, 75)
    assert set(quadrant_names(out)) == {"red"}
    calls.clear()
    _, out = run(data, Resize(400, 400, "crop", ("top", "left")))  # 1/2: scaled to 533x400
    assert calls == [(800, 600)] and out.size == (400, 400)
    calls.clear()
    run(data, Rotate(90), Resize(100))
    run(data, Resize(1000))
    assert calls == []


# --- formats and colour modes ---------------------------------------------------------------


def _rgba_png() -> bytes:
    im = Image.new("RGBA", LANDSCAPE, (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (300, 0, 600, 400))
    return images.encode(im, "PNG")


def _palette_png(transparent: bool) -> bytes:
    im = images.quadrants(LANDSCAPE).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    params = {}
    if transparent:
        params["transparency"] = im.getpixel((0, 0))  # the red quadrant's index
    return images.encode(im, "PNG", **params)


def _grey16_png() -> bytes:
    im = Image.new("I;16", LANDSCAPE, 32768)
    im.paste(65535, (300, 0, 600, 400))
    return images.encode(im, "PNG")


def _cmyk_jpeg(**params) -> bytes:
    im = Image.new("CMYK", LANDSCAPE, (0, 255, 255, 0))  # red ink mix
    im.paste((255, 0, 0, 0), (300, 0, 600, 400))  # cyan
    return images.encode(im, "JPEG", quality=95, **params)


SOURCES = {
    "rgb-jpeg": lambda: images.encode(images.quadrants(LANDSCAPE), "JPEG", quality=95),
    "grey-jpeg": lambda: images.encode(Image.new("L", LANDSCAPE, 100), "JPEG", quality=95),
    "cmyk-jpeg": _cmyk_jpeg,
    "rgba-png": _rgba_png,
    "palette-png": lambda: _palette_png(False),
    "palette-png-transparent": lambda: _palette_png(True),
    "grey16-png": _grey16_png,
    "gif": lambda: images.encode(images.quadrants(LANDSCAPE).quantize(4), "GIF"),
}


def _check_pixels(kind: str, fmt: str, out: Image.Image) -> None:
    alpha = fmt in ("png", "webp", "avif")
    if kind in ("rgb-jpeg", "palette-png", "gif"):
        assert quadrant_names(out) == UPRIGHT
    elif kind == "grey-jpeg":
        assert all(abs(v - 100) <= 3 for v in rgb(out, 300, 200))
        if fmt in ("jpg", "pjpg", "png"):
            assert out.mode == "L"
    elif kind == "cmyk-jpeg":
        assert out.mode == "RGB"
        assert name_of(rgb(out, 150, 200)) == "red"
        r, g, b = rgb(out, 450, 200)
        assert r < 60 and g > 200 and b > 200  # cyan
    elif kind == "rgba-png":
        if alpha:
            assert out.mode == "RGBA"
            assert out.getpixel((150, 200))[3] == 0
            assert out.getpixel((450, 200))[3] == 255
        else:
            assert rgb(out, 150, 200) == (255, 255, 255)  # composited onto white
        assert name_of(rgb(out, 450, 200)) == "red"
    elif kind == "palette-png-transparent":
        if alpha:
            assert out.mode == "RGBA"
            assert out.getpixel((150, 100))[3] == 0
            assert out.getpixel((450, 300))[3] == 255
        else:
            assert min(rgb(out, 150, 100)) >= 245  # the transparent red became white
        assert quadrant_names(out)[1:] == UPRIGHT[1:]
    elif kind == "grey16-png":
        # 32768 / 65535 is mid-grey; a clipping conversion would give 255.
        assert all(abs(v - 128) <= 2 for v in rgb(out, 150, 200))
        assert all(v >= 252 for v in rgb(out, 450, 200))


@pytest.mark.parametrize("fmt", list(OUTPUTS))
@pytest.mark.parametrize("kind", list(SOURCES))
def test_every_source_mode_in_every_output(kind, fmt):
    result, out = run(SOURCES[kind](), Output(format=fmt))
    assert result.mimetype == MIMETYPES[fmt]
    assert result.format == ("jpg" if fmt == "pjpg" else fmt)
    assert out.format == PILLOW_FORMATS[fmt]
    assert out.size == LANDSCAPE
    _check_pixels(kind, fmt, out)
    if fmt == "pjpg":
        assert out.info.get("progressive") or out.info.get("progression")
    if fmt == "jpg":
        assert not out.info.get("progressive")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("rgb-jpeg", "jpg"),
        ("rgba-png", "png"),
        ("palette-png", "png"),
        ("grey16-png", "png"),
        ("gif", "png"),
        ("webp", "webp"),
        ("bmp", "jpg"),
        ("tiff-rgba", "png"),
        ("tiff-rgb", "jpg"),
    ],
)
def test_default_output_format(kind, expected):
    quad = images.quadrants(LANDSCAPE)
    data = {
        "webp": lambda: images.encode(quad, "WEBP"),
        "bmp": lambda: images.encode(quad, "BMP"),
        "tiff-rgba": lambda: images.encode(quad.convert("RGBA"), "TIFF"),
        "tiff-rgb": lambda: images.encode(quad, "TIFF"),
    }.get(kind, SOURCES.get(kind))()
    result, out = run(data, Resize(300))
    assert result.format == expected
    assert out.size == (300, 200)


def test_background_for_flattening():
    _, out = run(_rgba_png(), Output(format="jpg", background="000000"))
    assert max(rgb(out, 150, 200)) <= 5
    _, out = run(_rgba_png(), Output(format="jpg", background="0000FF"))
    assert name_of(rgb(out, 150, 200)) == "blue"


def test_grey_with_alpha_stays_grey():
    im = Image.new("LA", LANDSCAPE, (90, 255))
    im.paste((0, 0), (0, 0, 300, 400))
    _, out = run(images.encode(im, "PNG"))
    assert out.mode == "LA"
    _, out = run(images.encode(im, "PNG"), Output(format="jpg"))
    assert out.mode == "L" and out.getpixel((100, 100)) >= 250


def test_one_bit_becomes_grey():
    im = Image.new("1", LANDSCAPE, 0)
    im.paste(1, (300, 0, 600, 400))
    result, out = run(images.encode(im, "PNG"), Resize(300))
    assert result.format == "png" and out.mode == "L"
    assert out.getpixel((50, 100)) == 0 and out.getpixel((250, 100)) == 255


def test_cmyk_embedded_profile_is_honoured_and_not_attached():
    # This profile maps every ink mix to a blue (Lab 50/0/-60), so a blue result proves it.
    profile = images.cmyk_profile((50, 0, -60))
    _, out = run(_cmyk_jpeg(icc_profile=profile))
    assert out.mode == "RGB"
    r, g, b = rgb(out, 150, 200)
    assert b > 180 and r < 40 and 80 < g < 170
    assert "icc_profile" not in out.info


def test_cmyk_broken_profile_falls_back_and_is_not_attached():
    bogus = images.srgb_profile()
    bogus = bogus[:16] + b"CMYK" + bogus[20:]
    _, out = run(_cmyk_jpeg(icc_profile=bogus))
    assert name_of(rgb(out, 150, 200)) == "red"
    assert "icc_profile" not in out.info


def test_animated_gif_first_frame_only():
    frames = [Image.new("RGB", (60, 40), color) for color in (RED, BLUE, GREEN)]
    data = images.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    for fmt in ("png", "webp"):
        _, out = run(data, Output(format=fmt))
        assert getattr(out, "n_frames", 1) == 1
        assert name_of(rgb(out, 30, 20)) == "red"


def test_animated_webp_first_frame_only():
    frames = [Image.new("RGB", (60, 40), color) for color in (GREEN, RED)]
    data = images.encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50)
    result, out = run(data, Resize(30))
    assert result.format == "webp" and getattr(out, "n_frames", 1) == 1
    assert name_of(rgb(out, 15, 10)) == "green"


def test_multi_picture_jpeg_is_a_jpeg():
    frames = [images.quadrants(LANDSCAPE), Image.new("RGB", LANDSCAPE, BLUE)]
    data = images.encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    result, out = run(data, Resize(150))
    assert result.format == "jpg" and out.size == (150, 100)
    assert quadrant_names(out) == UPRIGHT


def test_avif_output_needs_the_codec(monkeypatch, sources):
    monkeypatch.setattr(engine, "AVIF", False)
    with pytest.raises(ConversionError):
        render(io.BytesIO(sources["square"]), [Output(format="avif")])


# --- encoder options ------------------------------------------------------------------------


def test_quality_and_compress():
    noisy = Image.effect_noise(LANDSCAPE, 40).convert("RGB")
    data = images.encode(noisy, "PNG")
    low = render(io.BytesIO(data), [Output(format="jpg", quality=20)])
    high = render(io.BytesIO(data), [Output(format="jpg", quality=95)])
    task = render(io.BytesIO(data), [Output(format="jpg"), Quality(20)])
    assert len(low.data) < len(high.data)
    assert len(task.data) == len(low.data)
    # Output's own quality wins over the quality task.
    both = render(io.BytesIO(data), [Quality(95), Output(format="jpg", quality=20)])
    assert len(both.data) == len(low.data)
    plain = render(io.BytesIO(data), [Output(format="jpg", quality=80)])
    optimised = render(io.BytesIO(data), [Output(format="jpg", quality=80), Compress()])
    assert len(optimised.data) <= len(plain.data)
    png = render(io.BytesIO(data), [Output(format="png", compress=True)])
    Image.open(io.BytesIO(png.data)).load()


# --- metadata -------------------------------------------------------------------------------


def _tagged_jpeg(**extra) -> bytes:
    return images.encode(
        images.quadrants(LANDSCAPE),
        "JPEG",
        quality=95,
        exif=images.exif(1, gps=True),
        icc_profile=images.srgb_profile(),
        comment=b"secret comment",
        **extra,
    )


def test_exif_kept_without_gps_and_icc_kept():
    data = _tagged_jpeg()
    source = Image.open(io.BytesIO(data)).getexif()
    assert source.get_ifd(0x8825)  # the fixture does carry GPS
    _, out = run(data, Resize(300))
    exif = out.getexif()
    assert exif[0x010F] == "OpenPicker Camera" and exif[0x0110] == "Model 1"
    assert 0x8825 not in exif and not exif.get_ifd(0x8825)
    assert exif.get(0x0112, 1) == 1
    details = exif.get_ifd(0x8769)
    assert details[0x9003] == "2024:05:06 07:08:09"
    assert (details[0xA002], details[0xA003]) == (300, 200)  # the new pixel size
    assert out.info["icc_profile"] == images.srgb_profile()
    assert "comment" not in out.info


@pytest.mark.parametrize("strip", [NoMetadata(), Output(strip=True)])
def test_no_metadata_drops_exif_but_keeps_icc(strip):
    _, out = run(_tagged_jpeg(), strip)
    assert "exif" not in out.info
    assert not out.getexif()
    assert "comment" not in out.info
    assert out.info["icc_profile"] == images.srgb_profile()


@pytest.mark.parametrize("fmt", ["png", "webp", "avif"])
def test_metadata_in_other_outputs(fmt):
    _, out = run(_tagged_jpeg(), Output(format=fmt))
    exif = out.getexif()
    assert exif.get(0x010F) == "OpenPicker Camera"
    assert not exif.get_ifd(0x8825)
    assert out.info.get("icc_profile") == images.srgb_profile()
    _, out = run(_tagged_jpeg(), Output(format=fmt), NoMetadata())
    assert not out.getexif().get(0x010F)


def test_rgb_profile_is_not_attached_to_grey_output():
    im = Image.new("L", LANDSCAPE, 100)
    data = images.encode(im, "JPEG", icc_profile=images.srgb_profile())
    _, out = run(data)
    assert out.mode == "L" and "icc_profile" not in out.info


def test_oriented_exif_is_reset_to_upright():
    data = images.oriented_jpeg(images.quadrants(LANDSCAPE), 6)
    _, out = run(data, Resize(300))
    assert out.getexif()[0x0112] == 1
    assert quadrant_names(out) == UPRIGHT
    # A viewer honouring EXIF shows the same thing.
    assert quadrant_names(ImageOps.exif_transpose(out)) == UPRIGHT


# --- refusals -------------------------------------------------------------------------------


def test_pixel_bomb_refused_fast_and_small():
    data = images.bomb_png(30_000, 30_000)
    assert len(data) < 200_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImageTooLarge) as caught:
            render(io.BytesIO(data), [Resize(100)])
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.status == 413 and caught.value.code == "image_too_large"
    assert elapsed < 1.0
    assert peak < 50 * 1024 * 1024


def test_pixel_bomb_refused_without_resident_memory(tmp_path: Path):
    # tracemalloc does not see Pillow's C allocations: measure the resident peak of a fresh
    # process instead (this process may already have peaked higher).
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(images.bomb_png(30_000, 30_000))
    script = f"""
import io, resource
from conversions.engine import ImageTooLarge, render
from conversions.operations import Resize
data = open({str(bomb)!r}, "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for cap in (80_000_000, 10**12):
    try:
        render(io.BytesIO(data), [Resize(100)], max_pixels=cap)
    except ImageTooLarge:
        pass
    else:
        raise SystemExit("not refused")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) < 50 * 1024  # KiB


@pytest.mark.parametrize(
    ("size", "cap", "within_pillow_limit"),
    [
        ((9_500, 9_000), None, True),  # 85.5 MP: over our 80 MP, under Pillow's 89 MP warning
        ((10_000, 10_000), None, False),  # 100 MP: Pillow's warning, turned into an error
        ((600, 400), 200_000, True),
    ],
)
def test_pixel_cap_from_the_header(size, cap, within_pillow_limit):
    data = images.bomb_png(*size, rows=1)  # a header and one row: decoding would fail
    with pytest.raises(ImageTooLarge):
        render(io.BytesIO(data), [], max_pixels=cap)
    assert within_pillow_limit == (size[0] * size[1] <= Image.MAX_IMAGE_PIXELS)


def test_result_pixel_cap(sources):
    with pytest.raises(ImageTooLarge) as caught:
        render(io.BytesIO(sources["square"]), [Resize(10_000, 10_000, "scale")], max_pixels=10**6)
    assert "result" in caught.value.detail
    # 1000x1000 turned 45 degrees needs a 1415x1415 canvas (Pillow's rounding gives 1416).
    data = images.encode(images.quadrants((1000, 1000)), "JPEG")
    with pytest.raises(ImageTooLarge):
        render(io.BytesIO(data), [Rotate(45)], max_pixels=1_900_000)
    assert render(io.BytesIO(data), [Rotate(45)], max_pixels=2_100_000).width in (1415, 1416)


def test_pillow_threshold_follows_the_operator_cap(sources, monkeypatch):
    # 600x400 = 240,000 pixels: over a 150,000 warning threshold, under its 300,000 hard limit.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150_000)
    assert run(sources["landscape"], Resize(60), max_pixels=1_000_000)[1].size == (60, 40)
    with pytest.raises(ImageTooLarge):
        render(io.BytesIO(sources["landscape"]), [], max_pixels=100_000)  # the warning, raised
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.raises(ImageTooLarge):
        render(io.BytesIO(sources["landscape"]), [], max_pixels=10**12)  # Pillow's hard limit


def _truncated_jpeg() -> bytes:
    data = images.encode(Image.effect_noise(LANDSCAPE, 50).convert("RGB"), "JPEG")
    return data[: len(data) // 2]


def _truncated_png() -> bytes:
    data = images.encode(Image.effect_noise((200, 200), 50), "PNG")
    return data[: data.index(b"IDAT") + 2000]


def _icon() -> bytes:
    return images.encode(images.quadrants((32, 32)), "ICO")


def _pcx() -> bytes:
    return images.encode(images.quadrants((32, 32)), "PCX")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, this is plain text\n" * 20, id="text"),
        pytest.param(b"<!doctype html><html><body><img src=x></body></html>", id="html"),
        pytest.param(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", id="pdf"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', id="svg"
        ),
        pytest.param(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", id="eps"),
        pytest.param(_icon(), id="ico"),
        pytest.param(_pcx(), id="pcx"),
        pytest.param(_truncated_jpeg(), id="truncated-jpeg"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 64, id="jpeg-magic-garbage"),
        pytest.param(_truncated_png(), id="truncated-png"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, id="png-magic-garbage"),
        pytest.param(b"GIF89a\x10\x00\x10\x00", id="gif-header-only"),
    ],
)
def test_not_an_allowed_image_is_refused(data):
    with pytest.raises(ImageRefused) as caught:
        render(io.BytesIO(data), [Resize(10)])
    assert caught.value.status == 400 and caught.value.code == "image_refused"


def test_refused_even_with_a_lying_hint():
    with pytest.raises(ImageRefused):
        render(io.BytesIO(_pcx()), [], source_format_hint="image/png")


# --- sources --------------------------------------------------------------------------------


class _Stream:
    """A network-like stream: read() only, no seek, no tell."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(min(size, 1000) if size and size > 0 else size)

    def seekable(self) -> bool:
        return False


def test_non_seekable_source(sources):
    result = render(_Stream(sources["landscape"]), [Resize(300)])  # type: ignore[arg-type]
    assert (result.width, result.height) == (300, 200)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "GIF", "WEBP", "BMP"])
def test_non_seekable_source_in_other_formats(fmt):
    data = images.encode(images.quadrants(LANDSCAPE), fmt)
    result = render(_Stream(data), [Resize(300)])  # type: ignore[arg-type]
    assert (result.width, result.height) == (300, 200)
    assert quadrant_names(Image.open(io.BytesIO(result.data))) == UPRIGHT


def test_non_image_stream_is_refused_after_its_first_bytes():
    class Endless:
        """A forward-only stream of 1 GB of zeros that counts what it gave."""

        given = 0

        def read(self, size: int = -1) -> bytes:
            size = 1 << 20 if size is None or size < 0 else size
            size = min(size, (1 << 30) - self.given)
            self.given += size
            return b"\x00" * size

    stream = Endless()
    with pytest.raises(ImageRefused):
        render(stream, [Resize(10)])  # type: ignore[arg-type]
    assert stream.given <= 4 << 20


def test_stream_not_at_the_start(sources):
    stream = io.BytesIO(b"junk" + sources["landscape"])
    stream.seek(4)
    assert render(stream, [Resize(30)]).width == 30


def test_format_hint_only_orders_the_guesses(sources):
    result = render(io.BytesIO(sources["landscape"]), [], source_format_hint="png")
    assert result.format == "jpg"


def test_probe_reads_the_header(sources):
    assert probe(io.BytesIO(sources["portrait"])) == (400, 600, "jpg")
    assert probe(io.BytesIO(images.oriented_jpeg(images.quadrants(LANDSCAPE), 6))) == (
        600,
        400,
        "jpg",
    )
    for fmt in ("PNG", "WEBP", "TIFF", "AVIF")[: 4 if features.check("avif") else 3]:
        data = images.oriented(images.quadrants(LANDSCAPE), 6, fmt)
        assert probe(io.BytesIO(data))[:2] == LANDSCAPE, fmt
    assert probe(io.BytesIO(images.bomb_png(10_000, 9_000, rows=1))) == (10_000, 9_000, "png")
    with pytest.raises(ImageTooLarge):  # past Pillow's own hard limit
        probe(io.BytesIO(images.bomb_png(30_000, 30_000, rows=1)))
    with pytest.raises(ImageRefused):
        probe(io.BytesIO(b"plain text"))

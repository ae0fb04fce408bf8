"""Validated image operations: built once from URL parameters, rendered to one canonical spec.

Each operation is a frozen dataclass whose `build(params)` validates raw parameters (strings,
lists) and whose `spec()` is its canonical text; the chain's spec is the rendition cache key.
The Pillow engine (conversions.engine) applies them; this module never touches pixels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import ClassVar

from picker.errors import BadRequest

MAX_DIMENSION = 10_000
FITS = ("clip", "crop", "scale", "max")
VERTICAL = ("top", "middle", "bottom")
HORIZONTAL = ("left", "center", "right")
FORMATS = ("jpg", "png", "webp", "avif", "pjpg")
_HEX = re.compile(r"^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")
_COLOR_NAMES = {"white": "FFFFFFFF", "black": "000000FF", "transparent": "00000000"}


class ConversionError(BadRequest):
    """A task or value the conversion grammar refuses (400, naming it)."""

    code = "invalid_conversion"


def _int(task: str, name: str, value, low: int, high: int) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ConversionError(f"{task}: {name} must be an integer, not {value!r}") from None
    if not low <= number <= high:
        raise ConversionError(f"{task}: {name} must be between {low} and {high}, not {number}")
    return number


def _bool(task: str, name: str, value) -> bool:
    text = str(value).strip().lower()
    if text in {"true", "1", ""}:
        return True
    if text in {"false", "0"}:
        return False
    raise ConversionError(f"{task}: {name} must be true or false, not {value!r}")


def _choice(task: str, name: str, value, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConversionError(f"{task}: {name} must be one of {', '.join(choices)}, not {value!r}")
    return text


def _unknown(task: str, params: dict, known: set[str]) -> None:
    extra = sorted(set(params) - known)
    if extra:
        raise ConversionError(f"{task}: unknown parameter {extra[0]!r}")


def _color(task: str, value) -> str:
    text = str(value).strip().lstrip("#")
    text = _COLOR_NAMES.get(text.lower(), text)
    if not _HEX.match(text):
        raise ConversionError(f"{task}: background must be RRGGBB or RRGGBBAA hex, not {value!r}")
    return (text + "FF" if len(text) == 6 else text).upper()


def parse_align(task: str, value) -> tuple[str, str]:
    """`align` as (vertical, horizontal): top/middle/bottom × left/center/right, any order."""
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    vertical, horizontal = "middle", "center"
    for item in items:
        word = str(item).strip().lower()
        if word in VERTICAL:
            vertical = word
        elif word in HORIZONTAL:
            horizontal = word
        elif word == "faces":
            raise ConversionError(f"{task}: align faces is not supported (no face detection)")
        else:
            raise ConversionError(
                f"{task}: align {word!r} is not top, middle, bottom, left, center or right"
            )
    return vertical, horizontal


@dataclass(frozen=True)
class Operation:
    name = ""
    # Parameters a task without values of its own accepts (and ignores).
    ignored: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def build(cls, params: dict) -> Operation:
        """A task that takes no values (flip, flop, compress, no_metadata)."""
        _unknown(cls.name, params, set(cls.ignored))
        return cls()

    def spec(self) -> str:
        values = []
        for field in sorted(fields(self), key=lambda f: f.name):
            value = getattr(self, field.name)
            if value is None or value is False:
                continue
            if isinstance(value, tuple):
                value = "[" + ",".join(str(v) for v in value) + "]"
            elif value is True:
                value = "true"
            values.append(f"{field.name}:{value}")
        return f"{self.name}={','.join(values)}" if values else self.name


@dataclass(frozen=True)
class Resize(Operation):
    """Filestack's resize: clip fits inside, crop fills, scale stretches, max never grows."""

    width: int | None = None
    height: int | None = None
    fit: str = "clip"
    align: tuple[str, str] = ("middle", "center")
    name = "resize"

    @classmethod
    def build(cls, params: dict) -> Resize:
        _unknown("resize", params, {"width", "height", "fit", "align"})
        width = params.get("width")
        height = params.get("height")
        width = None if width in (None, "") else _int("resize", "width", width, 1, MAX_DIMENSION)
        height = (
            None if height in (None, "") else _int("resize", "height", height, 1, MAX_DIMENSION)
        )
        if width is None and height is None:
            raise ConversionError("resize: width or height is required")
        fit = _choice("resize", "fit", params.get("fit", "clip"), FITS)
        align = parse_align("resize", params.get("align", "center"))
        return cls(width, height, fit, align)


@dataclass(frozen=True)
class Crop(Operation):
    """Cut the rectangle [x, y, width, height], clamped to the image."""

    dim: tuple[int, int, int, int]
    name = "crop"

    @classmethod
    def build(cls, params: dict) -> Crop:
        _unknown("crop", params, {"dim"})
        dim = params.get("dim")
        if isinstance(dim, str):
            dim = dim.split(",")
        if not isinstance(dim, list) or len(dim) != 4:
            raise ConversionError("crop: dim must be [x,y,width,height]")
        x, y = (_int("crop", "dim", value, 0, 100_000) for value in dim[:2])
        w, h = (_int("crop", "dim", value, 1, 100_000) for value in dim[2:])
        return cls((x, y, w, h))


@dataclass(frozen=True)
class Rotate(Operation):
    """Rotate clockwise by deg (0-359), or by the EXIF orientation; corners get background."""

    deg: int | str = 0
    background: str = "FFFFFFFF"
    name = "rotate"

    @classmethod
    def build(cls, params: dict) -> Rotate:
        _unknown("rotate", params, {"deg", "background", "exif"})
        deg = params.get("deg", 0)
        if str(deg).lower() == "exif" or (
            "exif" in params and _bool("rotate", "exif", params["exif"])
        ):
            deg = "exif"
        else:
            deg = _int("rotate", "deg", deg, 0, 359)
        return cls(deg, _color("rotate", params.get("background", "FFFFFFFF")))


@dataclass(frozen=True)
class Flip(Operation):
    """Mirror top to bottom."""

    name = "flip"


@dataclass(frozen=True)
class Flop(Operation):
    """Mirror left to right."""

    name = "flop"


@dataclass(frozen=True)
class Output(Operation):
    """The encoded result: format, quality, strip (drop metadata), compress (optimise)."""

    format: str | None = None
    quality: int | None = None
    strip: bool = False
    compress: bool = False
    background: str | None = None
    name = "output"

    @classmethod
    def build(cls, params: dict) -> Output:
        _unknown("output", params, {"format", "quality", "strip", "compress", "background"})
        fmt = params.get("format")
        if fmt is not None:
            fmt = _choice("output", "format", "jpg" if str(fmt).lower() == "jpeg" else fmt, FORMATS)
        quality = params.get("quality")
        if quality is not None and str(quality).lower() != "input":
            quality = _int("output", "quality", quality, 1, 100)
        else:
            quality = None
        background = params.get("background")
        return cls(
            fmt,
            quality,
            _bool("output", "strip", params["strip"]) if "strip" in params else False,
            _bool("output", "compress", params["compress"]) if "compress" in params else False,
            None if background is None else _color("output", background),
        )


@dataclass(frozen=True)
class Quality(Operation):
    """Encoder quality 1-100 (the `quality=value:N` task)."""

    value: int
    name = "quality"

    @classmethod
    def build(cls, params: dict) -> Quality:
        _unknown("quality", params, {"value"})
        return cls(_int("quality", "value", params.get("value"), 1, 100))


@dataclass(frozen=True)
class Compress(Operation):
    """Optimise the encoding (Filestack's bare `compress` task)."""

    name = "compress"
    ignored = frozenset({"metadata"})


@dataclass(frozen=True)
class NoMetadata(Operation):
    """Drop EXIF, XMP and comments (the ICC profile is kept: it is colour, not metadata)."""

    name = "no_metadata"


IMAGE_OPERATIONS: dict[str, type[Operation]] = {
    op.name: op for op in (Resize, Crop, Rotate, Flip, Flop, Output, Quality, Compress, NoMetadata)
}


def chain_spec(operations: list[Operation]) -> str:
    """The canonical text of a chain: equal chains give equal specs (the rendition cache key)."""
    return "/".join(operation.spec() for operation in operations)

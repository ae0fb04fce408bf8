"""Both conversion grammars — CDN task chains and the legacy `/convert?w=&h=…` query — parsed
into one validated list of operations plus an optional store target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from conversions.models import Rendition
from conversions.operations import (
    IMAGE_OPERATIONS,
    ConversionError,
    Crop,
    Operation,
    Output,
    Resize,
    Rotate,
    chain_spec,
)
from picker.cdn import CORE_TASKS, Task, parse_task
from picker.files import StoreOptions

STORE_PARAMS = {"location", "path", "container", "access", "region", "filename"}
# Legacy parameters that are not conversions (credentials, caching, download, cache busting).
LEGACY_PASSIVE = {"key", "apikey", "policy", "signature", "cache", "dl", "_cacheBust", "secure"}
LEGACY_STORE = {
    "storeLocation": "location",
    "storePath": "path",
    "storeContainer": "container",
    "storeAccess": "access",
    "storeRegion": "region",
    "storeFilename": "filename",
}
LEGACY_OPS = {
    "w",
    "h",
    "width",
    "height",
    "fit",
    "align",
    "crop",
    "crop_first",
    "rotate",
    "format",
    "quality",
    "compress",
}


# A spec longer than the rendition cache column cannot be cached (nor computed): refused first.
MAX_SPEC = Rendition._meta.get_field("spec").max_length


@dataclass(frozen=True)
class Conversion:
    """What to do to the source, and where to store the result (None: answer the bytes)."""

    operations: list[Operation]
    store: StoreOptions | None = None

    @cached_property
    def spec(self) -> str:
        """The canonical spec (checked when parsed, then the rendition cache's key)."""
        return chain_spec(self.operations)


def _check_length(what: str, text: str) -> None:
    if len(text) > MAX_SPEC:
        raise ConversionError(
            f"{what} is {len(text):,} characters, more than the {MAX_SPEC:,} a rendition "
            "spec can hold",
            code="spec_too_long",
        )


def _checked(conversion: Conversion) -> Conversion:
    _check_length("the conversion's canonical spec", conversion.spec)
    return conversion


def _store_options(task: str, params: Mapping) -> StoreOptions:
    unknown = sorted(set(params) - STORE_PARAMS - {"base64decode", "workflows"})
    if unknown:
        raise ConversionError(f"{task}: unknown parameter {unknown[0]!r}")
    return StoreOptions.build(
        location=_text(params.get("location")),
        filename=_text(params.get("filename")),
        path=_text(params.get("path")),
        container=_text(params.get("container")),
        access=_text(params.get("access")),
    )


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        raise ConversionError("store parameters must be strings")
    return str(value)


def from_tasks(tasks: list[Task]) -> Conversion:
    """A CDN chain (security and cache already handled by the core) → Conversion.

    A task's text decides all of it, so a chain seen before costs one dictionary lookup: the
    build and the canonical spec were about 12 % of a cached rendition's request (a CDN
    thumbnail is asked for again and again). Conversions are frozen and shared; a chain that
    does not read raises every time.
    """
    return _from_texts(tuple(task.text for task in tasks))


@lru_cache(maxsize=1024)
def _from_texts(texts: tuple[str, ...]) -> Conversion:
    conversion = _build([parse_task(text) for text in texts])
    conversion.spec  # noqa: B018 - computed once, before the conversion is shared
    return conversion


def _build(tasks: list[Task]) -> Conversion:
    written = "/".join(task.text for task in tasks if task.name not in {*CORE_TASKS, "store"})
    _check_length("the conversion spec", written)
    operations: list[Operation] = []
    store = None
    for task in tasks:
        if task.name in CORE_TASKS:
            continue
        if task.name == "store":
            store = _store_options("store", task.params)
            continue
        operation = IMAGE_OPERATIONS.get(task.name)
        if operation is None:
            raise ConversionError(f"unknown task {task.name!r}", code="unknown_task")
        operations.append(operation.build(task.params))
    if not operations and store is None:
        raise ConversionError("the chain has no conversion task")
    return _checked(Conversion(operations, store))


def from_legacy(params: Mapping, *, storing: bool) -> Conversion:
    """The legacy `/api/file/{handle}/convert` parameters → Conversion (resize, crop, rotate,
    output; `crop_first=true` crops before resizing)."""
    names = set(params)
    unknown = sorted(names - LEGACY_OPS - LEGACY_PASSIVE - set(LEGACY_STORE))
    if unknown:
        raise ConversionError(f"convert: unsupported parameter {unknown[0]!r}")
    get = params.get
    written = "&".join(f"{name}={get(name)}" for name in sorted(names & LEGACY_OPS))
    _check_length("the conversion spec (its parameters)", written)
    width = get("width") or get("w")
    height = get("height") or get("h")
    crop_first = str(get("crop_first", "")).lower() in {"true", "1"}
    fit = get("fit")
    if crop_first and not get("crop") and not fit:
        # The seeds' {width:300, height:300, crop_first:true} "crops and resizes": with no
        # crop rectangle given, cropping first means filling the box (fit=crop).
        fit = "crop"
    resize = crop = rotate = output = None
    if width or height:
        resize = Resize.build(
            {
                k: v
                for k, v in {
                    "width": width,
                    "height": height,
                    "fit": fit,
                    "align": get("align"),
                }.items()
                if v not in (None, "")
            }
        )
    elif get("fit") or get("align"):
        raise ConversionError("convert: fit and align need w or h")
    if get("crop"):
        crop = Crop.build({"dim": str(get("crop")).split(",")})
    if get("rotate") not in (None, ""):
        rotate = Rotate.build({"deg": get("rotate")})
    if get("format") or get("quality") or get("compress"):
        output = Output.build(
            {
                k: v
                for k, v in {
                    "format": get("format"),
                    "quality": get("quality"),
                    "compress": get("compress"),
                }.items()
                if v not in (None, "")
            }
        )
    order = [crop, resize] if crop_first else [resize, crop]
    operations = [op for op in (*order, rotate, output) if op is not None]
    if not operations:
        raise ConversionError(
            "convert: no conversion parameter given (w, h, crop, rotate, format, quality)"
        )
    store = None
    if storing or any(name in names for name in LEGACY_STORE):
        store = _store_options(
            "convert",
            {LEGACY_STORE[name]: get(name) for name in LEGACY_STORE if get(name) not in (None, "")},
        )
    return _checked(Conversion(operations, store))

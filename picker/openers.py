"""How the bytes of a symlink are opened: a registry by provider, filled by the provider apps.

A provider app registers an opener in its `ready()` (`openers.register("Flickr", open_photo)`),
as `conversions` fills the CDN task registry; the core never imports it. Reads, metadata and
conversions of a symlink all go through `open(link)`. A provider with no opener is read from
the link's source URL through the outbound guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

from picker.models import FileLink
from picker.outbound import Fetched, fetch_public_url
from picker.streams import CHUNK


def _nothing() -> None:
    return None


@dataclass
class Opened:
    """A readable stream over a symlink's bytes, with what its source says of size and type."""

    read: Callable[[int], bytes]
    size: int | None = None
    mimetype: str | None = None
    close: Callable[[], None] = field(default=_nothing)

    @classmethod
    def from_fetched(cls, fetched: Fetched, link: FileLink | None = None) -> Opened:
        """A guarded fetch as an Opened; the link's recorded type when the reply names none."""
        mimetype = fetched.headers.get("Content-Type") or (link.mimetype if link else None)
        return cls(fetched.read, fetched.content_length, mimetype, fetched.close)

    def __enter__(self) -> Opened:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def iter_chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk


Opener = Callable[[FileLink], Opened]

_openers: dict[str, Opener] = {}


def _name(provider: str) -> str:
    return provider.strip().lower()


def register(provider: str, opener: Opener) -> None:
    """Say how to open symlinks of `provider` (the FileLink.provider value, any case)."""
    _openers[_name(provider)] = opener


def unregister(provider: str) -> None:
    _openers.pop(_name(provider), None)


def opener_for(provider: str) -> Opener | None:
    return _openers.get(_name(provider))


def open(link: FileLink) -> Opened:
    """The bytes of a symlink: through its provider's opener, else its URL through the guard."""
    if link.kind != FileLink.Kind.SYMLINK:
        raise ValueError(f"{link.handle} is not a symlink")
    opener = opener_for(link.provider)
    if opener is not None:
        return opener(link)
    return Opened.from_fetched(fetch_public_url(link.source_url), link)

"""Domain events the core announces: one frozen payload per action, and `publish`.

`publish(event)` sends two signals:
- `recorded`, synchronously, inside the current transaction: a receiver (the webhooks app
  writing its Event row) commits or rolls back together with what the event announces, and a
  receiver that raises rolls the whole action back;
- `file_event`, after the transaction commits, through `send_robust`: a subscriber never sees a
  file that was rolled back, and one that raises is logged, never turning a committed store into
  an error.

Receivers of both get `event` (one of the payloads below) as their only keyword argument.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from picker.models import App, FileLink

logger = logging.getLogger(__name__)

recorded = Signal()
file_event = Signal()


def _stored_fields(link: FileLink) -> dict:
    """`container` and `key` of a stored file, as the seeds' "upload with store" shows them."""
    if link.kind != FileLink.Kind.STORED:
        return {}
    return {"container": link.container, "key": link.key}


@dataclass(frozen=True, kw_only=True)
class Event:
    """What happened, to which app, and when; `text()` is the webhook body's `text` object."""

    action: ClassVar[str]
    app: App
    at: datetime = field(default_factory=timezone.now)

    def text(self) -> dict:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Upload(Event):
    """fp.upload: a file was stored, or a symlink to a provider's item was made."""

    action: ClassVar[str] = "fp.upload"
    link: FileLink

    @property
    def client(self) -> str:
        return self.link.client

    @property
    def stored(self) -> bool:
        return self.link.kind == FileLink.Kind.STORED

    def text(self) -> dict:
        link = self.link
        return {
            "url": link.url,
            "client": link.client,
            "type": link.mimetype,
            "filename": link.filename,
            "size": link.size,
            **_stored_fields(link),
        }


@dataclass(frozen=True, kw_only=True)
class Export(Event):
    """fp.export: a file was saved to a provider ("save to"); `created` is the item made there."""

    action: ClassVar[str] = "fp.export"
    link: FileLink
    client: str
    created: str
    filename: str = ""

    def text(self) -> dict:
        return {
            "source": self.link.url,
            "client": self.client,
            "filename": self.filename or self.link.filename,
            "created": self.created,
        }


@dataclass(frozen=True, kw_only=True)
class Converse(Event):
    """fp.converse: a file was converted (`url`, without credentials); `stored` its stored copy."""

    action: ClassVar[str] = "fp.converse"
    link: FileLink
    url: str
    stored: FileLink | None = None

    @property
    def provider(self) -> str:
        """The seeds' link.provider: "internal", "amazon", or the service of a symlink."""
        return self.link.provider

    def text(self) -> dict:
        link = self.link
        out = {
            "url": self.url,
            "link": {
                "writeable": link.writeable,
                "mimetype": link.mimetype,
                "handle": link.handle,
                "url": link.key if link.kind == FileLink.Kind.STORED else link.source_url,
                "created_at": link.created_at.isoformat(),
                "provider": self.provider,
                "filename": link.filename,
                "size": str(link.size) if link.size is not None else None,
            },
        }
        if self.stored is not None:
            out["stored"] = Upload(app=self.app, link=self.stored, at=self.at).text()
        return out


@dataclass(frozen=True, kw_only=True)
class Overwrite(Event):
    """fp.overwrite: a file's bytes were replaced under the same handle."""

    action: ClassVar[str] = "fp.overwrite"
    link: FileLink

    def text(self) -> dict:
        link = self.link
        return {
            "url": link.url,
            "client": link.client,
            "type": link.mimetype,
            "filename": link.filename,
            "size": link.size,
            **_stored_fields(link),
        }


@dataclass(frozen=True, kw_only=True)
class Delete(Event):
    """fp.delete: a handle was removed (its object too, unless another live link uses it)."""

    action: ClassVar[str] = "fp.delete"
    link: FileLink

    def text(self) -> dict:
        link = self.link
        return {
            "url": link.url,
            "handle": link.handle,
            "filename": link.filename,
            **_stored_fields(link),
        }


@dataclass(frozen=True, kw_only=True)
class DialogOpen(Event):
    """fp.dialog_open: the picker dialog was opened from `origin` (the integrator's page)."""

    action: ClassVar[str] = "fp.dialog_open"
    origin: str = ""

    def text(self) -> dict:
        return {"origin": self.origin}


EVENT_TYPES: tuple[type[Event], ...] = (Upload, Export, Converse, Overwrite, Delete, DialogOpen)
ACTIONS = tuple(kind.action for kind in EVENT_TYPES)


def publish(event: Event) -> None:
    """Record `event` inside the current transaction and announce it once that commits."""
    if not isinstance(event, EVENT_TYPES):
        raise TypeError(f"not an event: {event!r}")
    # A savepoint when a transaction is open (a raise in `recorded` rolls the caller's back
    # too, as it propagates); a transaction of its own otherwise.
    with transaction.atomic():
        recorded.send(sender=type(event), event=event)
        transaction.on_commit(lambda: _announce(event), robust=True)


def _announce(event: Event) -> None:
    for receiver, result in file_event.send_robust(sender=type(event), event=event):
        if isinstance(result, Exception):
            logger.error(
                "%s subscriber %r failed",
                event.action,
                receiver,
                exc_info=(type(result), result, result.__traceback__),
            )

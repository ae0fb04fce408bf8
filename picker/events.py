"""Domain events the core announces; webhooks (and anything else) subscribe to `file_event`.

Events are sent after the surrounding transaction commits, so a subscriber never sees a file
that was rolled back.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# Receivers get: action (str, e.g. "fp.upload"), app (App), link (FileLink | None), extra (dict).
file_event = Signal()

ACTIONS = ("fp.upload", "fp.overwrite", "fp.delete", "fp.converse", "fp.export", "fp.dialog_open")


def publish(action: str, app, link=None, **extra) -> None:
    """Announce `action` once the current transaction commits."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    transaction.on_commit(
        lambda: file_event.send(sender=publish, action=action, app=app, link=link, extra=extra)
    )

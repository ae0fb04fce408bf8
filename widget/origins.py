"""Which pages may open the dialog: the app's allowed origins (none listed = any page).

The dialog is framed only by those origins (CSP `frame-ancestors`), answers only to the origin
the library says it runs on when that origin is allowed, and posts results to that origin alone
(`postMessage(..., origin)`), so a page that lies about its origin receives nothing.
"""

from __future__ import annotations

import re

from picker.models import App

# scheme://host[:port] with nothing after it: what `location.origin` gives.
_ORIGIN = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


def normalise(origin: str) -> str | None:
    """The origin in canonical form (lower case, no trailing slash), or None if it is not one."""
    origin = (origin or "").strip().rstrip("/")
    if not _ORIGIN.match(origin):
        return None
    return origin.lower()


def allowed(app: App) -> list[str]:
    """The app's allowed origins, canonical; an empty list allows any page."""
    return [found for entry in app.allowed_origins or [] if (found := normalise(entry))]


def may_open(app: App, origin: str | None) -> bool:
    listed = allowed(app)
    return origin is not None and (not listed or origin in listed)


def frame_ancestors(app: App | None) -> str:
    """The CSP frame-ancestors source list for the app's dialog ('none' without an app)."""
    if app is None:
        return "'none'"
    listed = allowed(app)
    return " ".join(listed) if listed else "*"

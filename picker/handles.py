"""Handles and API keys: unguessable identifiers from `secrets`."""

import re
import secrets

HANDLE_LENGTH = 20
HANDLE_RE = re.compile(r"^[A-Za-z0-9_-]{20}$")


def new_handle() -> str:
    """A 20-character URL-safe handle with 120 bits of randomness (a file URL is a capability)."""
    return secrets.token_urlsafe(15)


def new_apikey() -> str:
    """A 20-character public API key (Filestack's keys have the same length and alphabet)."""
    return secrets.token_urlsafe(15)


def new_secret() -> str:
    """An app secret: the HMAC key for policies (256 bits)."""
    return secrets.token_urlsafe(32)


def is_handle(value: str) -> bool:
    return bool(HANDLE_RE.match(value))

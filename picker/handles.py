"""Handles and API keys: unguessable identifiers from `secrets`."""

import re
import secrets
import string

HANDLE_LENGTH = 20
HANDLE_RE = re.compile(r"^[A-Za-z0-9_-]{20}$")


def new_handle() -> str:
    """A 20-character URL-safe handle with 120 bits of randomness (a file URL is a capability)."""
    return secrets.token_urlsafe(15)


APIKEY_ALPHABET = string.ascii_letters + string.digits


def new_apikey() -> str:
    """A 20-character public API key of letters and digits (119 bits), as Filestack's are.

    No `-` or `_`: a key is typed into commands (`manage.py addwebhook KEY URL`), where one that
    starts with `-` would be taken for an option."""
    return "".join(secrets.choice(APIKEY_ALPHABET) for _ in range(20))


def new_secret() -> str:
    """An app secret: the HMAC key for policies (256 bits)."""
    return secrets.token_urlsafe(32)


def is_handle(value: str) -> bool:
    return bool(HANDLE_RE.match(value))

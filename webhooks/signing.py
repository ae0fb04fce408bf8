"""The webhook signature: hex HMAC-SHA256(secret, f"{timestamp}.{body}") in `FS-Signature`.

What filestack-python's `verify_webhook_signature` checks; the timestamp is the attempt's
(`FS-Timestamp`), so a replayed old attempt carries an old timestamp.
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex signature of `body` sent at `timestamp` (Unix seconds, as text)."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: str, body: bytes) -> dict[str, str]:
    """The headers of one attempt."""
    return {
        "Content-Type": "application/json",
        "FS-Timestamp": timestamp,
        "FS-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """Whether `given` is the signature of `body` at `timestamp` (constant-time comparison)."""
    return hmac.compare_digest(signature(secret, timestamp, body), given)

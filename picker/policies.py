"""Filestack security policies: base64 JSON signed with HMAC-SHA256 of the app secret.

The signature covers the exact policy string received (URL-safe or standard base64, padded or
not), so both SDKs' encodings verify. Comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field

from picker.errors import PolicyError

CALLS = frozenset(
    {
        "pick",
        "read",
        "stat",
        "write",
        "writeUrl",
        "store",
        "convert",
        "remove",
        "exif",
        "runWorkflow",
    }
)


def sign(policy_b64: str, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the policy string with the app secret."""
    return hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha256).hexdigest()


def encode(policy: dict, *, urlsafe: bool = True) -> str:
    """Base64 of the policy JSON (what the SDKs send)."""
    raw = json.dumps(policy, sort_keys=True).encode()
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()


def _decode(policy_b64: str) -> dict:
    text = policy_b64.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        data = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise PolicyError("policy is not base64-encoded JSON", code="invalid_policy") from None
    if not isinstance(data, dict):
        raise PolicyError("policy must be a JSON object", code="invalid_policy")
    return data


@dataclass(frozen=True)
class Policy:
    """A verified policy; `allows_*` raise PolicyError with the reason when they do not."""

    expiry: float
    calls: frozenset[str] | None = None
    handle: str | None = None
    url: str | None = None
    path: str | None = None
    container: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    raw: dict = field(default_factory=dict, compare=False)

    def allows_call(self, call: str) -> None:
        if self.calls is None:
            if call == "exif":
                raise PolicyError("policy does not allow the call 'exif'", code="policy_call")
            return
        if call not in self.calls:
            raise PolicyError(
                f"policy does not allow the call {call!r} (allows {sorted(self.calls)})",
                code="policy_call",
            )

    def allows_any(self, calls: tuple[str, ...]) -> None:
        """At least one of `calls` is allowed (the first refusal is raised otherwise)."""
        refusal = None
        for call in calls:
            try:
                self.allows_call(call)
                return
            except PolicyError as error:
                refusal = refusal or error
        raise refusal

    def allows_handle(self, handle: str | None) -> None:
        if self.handle is not None and self.handle != handle:
            raise PolicyError("policy is for another handle", code="policy_handle")

    def allows_store(self, *, path: str | None, container: str | None) -> None:
        if self.path is not None and not _fullmatch(self.path, path or ""):
            raise PolicyError(f"path {path!r} does not match the policy", code="policy_path")
        if self.container is not None and not _fullmatch(self.container, container or ""):
            raise PolicyError(
                f"container {container!r} does not match the policy", code="policy_container"
            )

    def allows_url(self, url: str) -> None:
        if self.url is not None and not _fullmatch(self.url, url):
            raise PolicyError("url does not match the policy", code="policy_url")

    def allows_size(self, size: int | None) -> None:
        if size is None:
            return
        if self.max_size is not None and size > self.max_size:
            raise PolicyError(
                f"size {size} is over the policy's maxSize {self.max_size}", code="policy_size"
            )
        if self.min_size is not None and size < self.min_size:
            raise PolicyError(
                f"size {size} is under the policy's minSize {self.min_size}", code="policy_size"
            )


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        raise PolicyError(
            "policy holds an invalid regular expression", code="invalid_policy"
        ) from None


def _int_or_none(data: dict, name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PolicyError(
            f"policy field {name!r} must be an integer", code="invalid_policy"
        ) from None


def verify(policy_b64: str, signature: str, secret: str, *, now: float | None = None) -> Policy:
    """Check the signature in constant time, decode, and check expiry; return the Policy."""
    if not policy_b64 or not signature:
        raise PolicyError("policy and signature must both be given", code="invalid_policy")
    # Base64 has no spaces: a space is a standard-alphabet '+' sent unquoted in a query string,
    # which form decoding turned into ' '. The client signed the '+'.
    policy_b64 = policy_b64.replace(" ", "+")
    expected = sign(policy_b64, secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise PolicyError("signature does not match the policy", code="invalid_signature")
    data = _decode(policy_b64)
    expiry = data.get("expiry")
    if not isinstance(expiry, int | float) or isinstance(expiry, bool):
        raise PolicyError("policy has no numeric expiry", code="invalid_policy")
    if expiry < (time.time() if now is None else now):
        raise PolicyError("policy has expired", code="policy_expired")
    calls = data.get("call")
    if isinstance(calls, str):
        calls = [calls]
    if calls is not None and not (
        isinstance(calls, list) and all(isinstance(c, str) for c in calls)
    ):
        raise PolicyError("policy field 'call' must be a list of calls", code="invalid_policy")
    for name in ("handle", "url", "path", "container"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise PolicyError(f"policy field {name!r} must be a string", code="invalid_policy")
    return Policy(
        expiry=float(expiry),
        calls=frozenset(calls) if calls is not None else None,
        handle=data.get("handle"),
        url=data.get("url"),
        path=data.get("path"),
        container=data.get("container"),
        min_size=_int_or_none(data, "minSize"),
        max_size=_int_or_none(data, "maxSize"),
        raw=data,
    )

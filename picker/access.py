"""Who may do what: API keys, HTTP Basic `app:SECRET`, and policies, checked per call.

Every check is against the app that owns the file (or the app named by the key for new
files), so one app's key, secret or policy never acts on another app's handles.
"""

from __future__ import annotations

import base64
import hmac
from contextvars import ContextVar
from dataclasses import dataclass

from picker import policies
from picker.errors import AuthenticationFailed, Forbidden, NotFound, PolicyError
from picker.handles import is_handle
from picker.models import App, FileLink, secret_digest
from picker.queries import Lookup, deferring

# The id of the app the current request acts for, once known (the request log reads it).
acting_app: ContextVar[int | None] = ContextVar("acting_app", default=None)


@dataclass
class Credentials:
    """What a request presented: any of an API key, a policy and signature, a Basic secret."""

    apikey: str | None = None
    policy: str | None = None
    signature: str | None = None
    basic_secret: str | None = None

    @property
    def has_policy(self) -> bool:
        return bool(self.policy or self.signature)


def basic_secret(authorization: str | None) -> str | None:
    """The secret from `Authorization: Basic base64(app:SECRET)`, or None."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text b64decode refuses
        raise AuthenticationFailed("malformed Basic authorization header") from None
    if user != "app" or not password:
        raise AuthenticationFailed("Basic authorization must be app:SECRET")
    return password


def app_by_key(apikey: str | None) -> App:
    if not apikey:
        raise AuthenticationFailed("an API key is required (key=APIKEY)", code="apikey_required")
    app = App.objects.filter(apikey=apikey).first()
    if app is None:
        raise AuthenticationFailed("unknown API key", code="invalid_apikey")
    return app


def app_by_secret(secret: str) -> App:
    app = App.objects.filter(secret_lookup=secret_digest(secret)).first()
    if app is None or not hmac.compare_digest(app.secret.encode(), secret.encode()):
        raise AuthenticationFailed("the app secret is wrong", code="invalid_secret")
    return app


def resolve_app(creds: Credentials) -> App:
    """The app a request acts for, from its key or its Basic secret."""
    if creds.basic_secret:
        app = app_by_secret(creds.basic_secret)
        if creds.apikey and creds.apikey != app.apikey:
            raise AuthenticationFailed("the API key and the secret are of different apps")
    else:
        app = app_by_key(creds.apikey)
    acting_app.set(app.pk)
    return app


def filelink_for(handle: str, *, to_serve: bool = False) -> FileLink:
    """The live FileLink of a handle, with its app and storage target, in one query.

    `to_serve`: only what reading the file or its default metadata needs (SERVED_FIELDS) is
    loaded, and its app; other columns, and an app's own storage target, load on first use.
    """
    if not is_handle(handle):
        raise NotFound("a handle is 20 characters of [A-Za-z0-9_-]", code="invalid_handle")
    link = (_TO_SERVE if to_serve else _BY_HANDLE).first(handle=handle)
    if link is None or link.deleted_at is not None:
        raise NotFound("no file with this handle", code="file_not_found")
    return link


# Every read, metadata and conversion request starts here: compiled once (picker/queries.py).
_BY_HANDLE = Lookup(
    lambda handle: FileLink.objects.select_related("app", "storage_target").filter(handle=handle),
    handle="?",
)
# What a read (picker.responses) and the default metadata (picker.blobs) use of a file. On
# SQLite every column of a row costs its share of the query (the driver describes and converts
# each), so the reads leave out the rest (hashes other than the two kept, a symlink's origin,
# dimensions...) and the storage target's columns: most apps have none, and for one that has
# its own bucket the target is one more query beside a GET from S3.
SERVED_FIELDS = frozenset(
    {
        *("id", "handle", "app", "kind", "version", "deleted_at", "created_at", "writeable"),
        *("filename", "mimetype", "size", "md5", "sha256"),
        *("storage_target", "key", "container", "region", "provider"),
    }
)
_TO_SERVE = Lookup(
    lambda handle: (
        FileLink.objects.select_related("app")
        .defer(*deferring(FileLink, SERVED_FIELDS))
        .filter(handle=handle)
    ),
    handle="?",
)


def authorize(
    app: App,
    creds: Credentials,
    call: str | tuple[str, ...],
    *,
    handle: str | None = None,
    owner_only: bool = False,
) -> policies.Policy | None:
    """Allow `call` (or any one of several) for `app` or raise; return the verified policy.

    - Basic `app:SECRET` of this app: everything.
    - A policy: verified with this app's secret, then checked for call and handle.
    - Neither: allowed unless the app requires security; `owner_only` calls (write, remove)
      also need this app's API key.
    """
    acting_app.set(app.pk)
    if creds.basic_secret:
        if not hmac.compare_digest(app.secret.encode(), creds.basic_secret.encode()):
            raise Forbidden("the secret is not this file's app's secret", code="invalid_secret")
        return None
    if creds.apikey and creds.apikey != app.apikey:
        raise Forbidden("this API key does not own the file", code="wrong_apikey")
    if creds.has_policy:
        policy = policies.verify(creds.policy or "", creds.signature or "", app.secret)
        policy.allows_any(call if isinstance(call, tuple) else (call,))
        policy.allows_handle(handle)
        return policy
    if app.security_required:
        raise PolicyError(
            "this app requires a policy and signature for every call", code="policy_required"
        )
    if owner_only and not creds.apikey:
        raise AuthenticationFailed("an API key is required (key=APIKEY)", code="apikey_required")
    return None

"""Who may do what: API keys, HTTP Basic `app:SECRET`, and policies, checked per call.

Every check is against the app that owns the file (or the app named by the key for new
files), so one app's key, secret or policy never acts on another app's handles.
"""

from __future__ import annotations

import base64
import hmac
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connections

from picker import policies
from picker.errors import AuthenticationFailed, Forbidden, NotFound, PolicyError
from picker.handles import is_handle
from picker.models import App, FileLink, StorageTarget, secret_digest

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


def filelink_for(handle: str) -> FileLink:
    """The live FileLink of a handle, with its app and storage target, in one query."""
    if not is_handle(handle):
        raise NotFound("a handle is 20 characters of [A-Za-z0-9_-]", code="invalid_handle")
    link = _filelink_by_handle(handle)
    if link is None or link.deleted_at is not None:
        raise NotFound("no file with this handle", code="file_not_found")
    return link


# Every read, metadata and conversion request starts with the lookup below. Run through the
# ORM each time (select_related + filter + first) it cost more to compile than to execute:
# 60-70 % of a metadata request went to building the same SQL again (benchmarks/README.md).
# So the ORM compiles it once per database, and each request only executes it and builds the
# instances with the ORM's own column converters, as its iterator would.
_JOINED = (FileLink, App, StorageTarget)


@lru_cache(maxsize=4)
def _lookup_plan(alias: str) -> tuple[str, list[list[tuple[list, object]]]]:
    query = FileLink.objects.select_related("app", "storage_target").filter(handle="?").query
    compiler = query.get_compiler(alias)
    sql, params = compiler.as_sql()
    columns = [expression for expression, _, _ in compiler.select]
    expected = [(model, field) for model in _JOINED for field in model._meta.concrete_fields]
    if [(col.target.model, col.target) for col in columns] != expected or params != ("?",):
        raise RuntimeError("the FileLink lookup's columns are not the models' fields in order")
    found = compiler.get_converters(columns)
    converters, index = [], 0
    for model in _JOINED:
        per_model = []
        for _ in model._meta.concrete_fields:
            per_model.append(found.get(index, ([], None)))
            index += 1
        converters.append(per_model)
    return sql, converters


def _filelink_by_handle(handle: str, alias: str = DEFAULT_DB_ALIAS) -> FileLink | None:
    """FileLink.objects.select_related("app", "storage_target").filter(handle=...).first()."""
    sql, converters = _lookup_plan(alias)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, (handle,))
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    start = 0
    for model, per_model in zip(_JOINED, converters, strict=True):
        values = list(row[start : start + len(per_model)])
        start += len(per_model)
        if model is StorageTarget and values[0] is None:
            instances.append(None)
            continue
        for index, (functions, expression) in enumerate(per_model):
            for function in functions:
                values[index] = function(values[index], expression, connection)
        instances.append(model.from_db(alias, None, values))
    link, app, target = instances
    FileLink._meta.get_field("app").set_cached_value(link, app)
    FileLink._meta.get_field("storage_target").set_cached_value(link, target)
    return link


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

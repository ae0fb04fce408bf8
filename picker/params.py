"""Reading Filestack's parameters, which arrive in the query, a form or a JSON body."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import QueryDict

from picker.access import Credentials, basic_secret
from picker.errors import BadRequest

TRUE = {"true", "1", "yes", "on"}


def flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in TRUE


def first(*sources: Mapping, name: str, default=None):
    """The first non-empty value for `name` among the sources (query before body)."""
    for source in sources:
        if source is None:
            continue
        value = source.get(name)
        if value not in (None, ""):
            return value
    return default


def text(value, name: str, max_length: int = 2048) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string", code="invalid_parameter")
    if len(value) > max_length or "\x00" in value:
        raise BadRequest(f"{name} is too long or contains NUL", code="invalid_parameter")
    return value


def integer(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be an integer", code="invalid_parameter") from None
    if number < 0:
        raise BadRequest(f"{name} must not be negative", code="invalid_parameter")
    return number


# What an empty query string parses to, made once (a QueryDict costs about 10 µs to build).
EMPTY_QUERY = QueryDict("", encoding="utf-8")


def query(request) -> QueryDict:
    """The request's query parameters, without parsing an empty query string."""
    return request.GET if request.META.get("QUERY_STRING") else EMPTY_QUERY


def credentials(request, *bodies: Mapping | None) -> Credentials:
    """API key (`key` or `apikey`), policy/signature, and Basic `app:SECRET` of a request."""
    meta = request.META
    if not (meta.get("QUERY_STRING") or meta.get("HTTP_AUTHORIZATION") or any(bodies)):
        return Credentials()  # a public CDN URL: nothing to parse
    query = request.GET
    sources = (query, *bodies)
    return Credentials(
        apikey=text(first(*sources, name="key") or first(*sources, name="apikey"), "key", 64),
        policy=text(first(*sources, name="policy"), "policy", 8192),
        signature=text(first(*sources, name="signature"), "signature", 256),
        basic_secret=basic_secret(request.META.get("HTTP_AUTHORIZATION")),
    )


def json_object(request) -> dict:
    """The JSON body as a dict, or a 400."""
    data = request.data
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_body")
    return data

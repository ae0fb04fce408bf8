"""Pure functions from Instagram (Graph, Instagram Login) JSON replies to picker items; no HTTP."""

from __future__ import annotations

import json

from picker.errors import BadRequest, NotFound
from providers.errors import ProviderAuthError, ProviderError, ProviderTokenRejected

# The seed's words ("Only image files are selectable").
NOT_SELECTABLE = "Only image files are selectable."
TOKEN_CODES = {190}  # invalid, expired or revoked token: reconnect, never retry
PERMISSION_CODES = {10, 200, 230}
RATE_CODES = {4, 17, 32, 613}
IMAGE, VIDEO, CAROUSEL = "IMAGE", "VIDEO", "CAROUSEL_ALBUM"


class ProviderTransient(ProviderError):
    """A rate limit or an error Graph marks is_transient: worth another try after a pause."""

    status = 429
    code = "provider_rate_limited"
    retry_after: int | None = None


def graph_error(reply) -> ProviderError | None:
    """The error a Graph reply carries ({"error": {code, message, ...}}), as an exception."""
    if not isinstance(reply, dict) or not isinstance(reply.get("error"), dict):
        return None
    error = reply["error"]
    try:
        code = int(error.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    message = f"Instagram error {code}: {error.get('message') or 'Graph call failed'}"
    if code in TOKEN_CODES:
        return ProviderTokenRejected(message)
    if code in PERMISSION_CODES:
        return ProviderAuthError(message)
    if code in RATE_CODES or error.get("is_transient") is True or code in (1, 2):
        return ProviderTransient(message)
    return ProviderError(message)


def regain_seconds(headers) -> int | None:
    """Seconds until Instagram accepts calls again, from X-Business-Use-Case-Usage
    ({id: [{..., "estimated_time_to_regain_access": minutes}]}); None when it does not say."""
    try:
        usage = json.loads(headers.get("X-Business-Use-Case-Usage") or "{}")
        minutes = [
            int(entry.get("estimated_time_to_regain_access") or 0)
            for entries in usage.values()
            for entry in entries
        ]
    except (AttributeError, TypeError, ValueError):
        return None
    return max(minutes) * 60 if minutes and max(minutes) > 0 else None


def still_limited(error: ProviderTransient, headers, tries: int) -> ProviderTransient:
    """The caller's 429 once Instagram refused every try: why, and when to try again if known."""
    refused = ProviderTransient(
        f"Instagram is limiting this app's calls (refused {tries} tries): {error.detail}"
    )
    refused.retry_after = regain_seconds(headers)
    return refused


def check(reply) -> dict:
    """A Graph reply that is a JSON object without an error, or the error raised."""
    error = graph_error(reply)
    if error is not None:
        raise error
    if not isinstance(reply, dict):
        raise ProviderError("Instagram's reply is not a JSON object")
    return reply


def token_reply(reply) -> dict:
    """POST oauth/access_token's reply, in the documented wrapped form ({"data": [{…}]}) or
    the flat one real replies also take; `user_id` may be a number. Errors raise."""
    if isinstance(reply, dict) and ("error_message" in reply or "error_type" in reply):
        raise ProviderError(f"Instagram refused the code: {reply.get('error_message', '?')}")
    check(reply)
    data = reply.get("data")
    if isinstance(data, list):
        if not data or not isinstance(data[0], dict):
            raise ProviderError("Instagram's token reply has an empty data list")
        reply = data[0]
    if not reply.get("access_token"):
        raise ProviderError("Instagram's token reply has no access_token")
    out = dict(reply)
    if out.get("user_id") is not None:
        out["user_id"] = str(out["user_id"])
    return out


def media_item(node: dict, album: str | None = None) -> dict:
    """One IMAGE or VIDEO node as a picker item (videos listed, but their mimetype says why
    they cannot be picked). A carousel child's path names its album too: `/{album}/{child}`."""
    video = node.get("media_type") == VIDEO
    extension = "mp4" if video else "jpg"
    thumbnail = node.get("thumbnail_url") if video else node.get("media_url")
    return {
        "name": f"{node['id']}.{extension}",
        "path": f"/{album}/{node['id']}" if album else f"/{node['id']}",
        "mimetype": "video/mp4" if video else "image/jpeg",
        "thumbnail": thumbnail or None,
        "size": None,
        "folder": False,
    }


def media_items(nodes: list[dict]) -> list[dict]:
    """Items of a /me/media page, carousel albums expanded into their children in order."""
    items = []
    for node in nodes:
        if node.get("media_type") == CAROUSEL:
            children = (node.get("children") or {}).get("data") or []
            items.extend(media_item(child, album=node["id"]) for child in children)
        else:
            items.append(media_item(node))
    return items


def next_cursor(reply: dict) -> str | None:
    """The `after` cursor of the next page; None on the last (no paging.next)."""
    paging = reply.get("paging") or {}
    if not paging.get("next"):
        return None
    return (paging.get("cursors") or {}).get("after") or None


def album_child(album: dict, child_id: str) -> dict:
    """A carousel child as its album's reply gives it (GET /{album}?fields=permalink,children{…}),
    with the page it is seen on: children have no permalink of their own, so the album's, at the
    child's place (`?img_index=`, 1 first). A child not in this album is not found."""
    children = (album.get("children") or {}).get("data") or []
    for index, child in enumerate(children, start=1):
        if str(child.get("id")) == child_id:
            permalink = album.get("permalink")
            if not permalink:
                return child
            separator = "&" if "?" in permalink else "?"
            return {**child, "permalink": f"{permalink}{separator}img_index={index}"}
    raise NotFound(f"no media {child_id} in the album {album.get('id')}", code="item_not_found")


def metadata(node: dict) -> dict:
    """A picked node's metadata; videos and albums refused with the seed's message."""
    if node.get("media_type") != IMAGE:
        raise BadRequest(NOT_SELECTABLE, code="not_an_image")
    return {
        "filename": f"{node['id']}.jpg",
        "mimetype": "image/jpeg",
        "size": None,
        "page_url": node.get("permalink") or "",
        "short_url": node.get("permalink") or None,
        "media_url": node.get("media_url"),
        "caption": node.get("caption", ""),
    }

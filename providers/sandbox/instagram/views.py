"""The fake Instagram's wire: the authorize (consent) page, POST oauth/access_token, the Graph
host's access_token / refresh_access_token, /me, /me/media, /{id}, /{id}/children and the CDN.
State lives in catalogue.py and the models; replies have the shapes of the recorded ones."""

import json
import secrets
from html import escape
from urllib.parse import urlencode
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.db.models import F
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from providers.sandbox.instagram import catalogue
from providers.sandbox.models import InstagramToken

SCOPES = {
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_messages",
    "instagram_business_manage_comments",
}
MEDIA_FIELDS = "id,media_type,media_url,permalink,thumbnail_url,timestamp,username,caption"


def _json(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def graph_error(code: int, message: str, status: int = 400, **extra) -> HttpResponse:
    error = {"message": message, "type": "OAuthException", "code": code, **extra}
    error["fbtrace_id"] = secrets.token_urlsafe(8)
    return _json({"error": error}, status)


def oauth_error(message: str) -> HttpResponse:
    return _json({"error_type": "OAuthException", "code": 400, "error_message": message}, 400)


def base_url(request) -> str:
    return request.build_absolute_uri(reverse("sandbox-instagram:root")).rstrip("/")


def root(request):
    return HttpResponse("Sandbox Instagram", content_type="text/plain")


CONSENT = """<!doctype html><html><head><title>Sandbox Instagram: authorize</title></head><body>
<h1>Allow this app to access your Sandbox Instagram account {username}?</h1>
<p>It asks for: <strong>{scope}</strong></p>
<form method="post">{hidden}
<button type="submit" name="decision" value="allow" data-testid="allow">Allow</button>
<button type="submit" name="decision" value="deny" data-testid="deny">Cancel</button>
</form></body></html>"""
_KEPT = ("client_id", "redirect_uri", "response_type", "scope", "state")


@csrf_exempt
def authorize(request):
    """GET: the consent page; POST allow → redirect_uri?code=…&state=…#_ (as Instagram adds)."""
    source = request.POST if request.method == "POST" else request.GET
    client_id = source.get("client_id", "")
    redirect_uri = source.get("redirect_uri", "")
    scopes = {s for s in source.get("scope", "").replace(" ", ",").split(",") if s}
    if client_id not in catalogue.app_keys() or not redirect_uri:
        return HttpResponse("<p>Invalid platform app</p>", status=400)
    if source.get("response_type") != "code" or not scopes or not scopes <= SCOPES:
        return HttpResponse("<p>Invalid scope or response_type</p>", status=400)
    if request.method != "POST":
        hidden = "".join(
            f'<input type="hidden" name="{name}" value={quoteattr(source.get(name, ""))}>'
            for name in _KEPT
        )
        page = CONSENT.format(
            username=catalogue.USER["username"],
            scope=escape(",".join(sorted(scopes))),
            hidden=hidden,
        )
        return HttpResponse(page)
    separator = "&" if "?" in redirect_uri else "?"
    state = {"state": source["state"]} if source.get("state") else {}
    if source.get("decision") != "allow":
        query = urlencode(
            {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "The user denied your request",
                **state,
            }
        )
        return HttpResponseRedirect(f"{redirect_uri}{separator}{query}")
    code = catalogue.issue(
        InstagramToken.CODE,
        client_id,
        catalogue.CODE_LIFETIME,
        redirect_uri=redirect_uri,
        scope=",".join(sorted(scopes)),
    )
    query = urlencode({"code": code.value, **state})
    return HttpResponseRedirect(f"{redirect_uri}{separator}{query}#_")


@csrf_exempt
def oauth_access_token(request):
    """POST api.instagram.com/oauth/access_token (form): a code, once → a short-lived token."""
    if request.method != "POST":
        return oauth_error("Unsupported method")
    form = request.POST
    client_id = form.get("client_id", "")
    if catalogue.app_keys().get(client_id) != form.get("client_secret") or not client_id:
        return oauth_error("Invalid Client Secret")
    if form.get("grant_type") != "authorization_code":
        return oauth_error("Unsupported grant_type")
    # Single use: the first request marks the code used, whatever follows.
    taken = InstagramToken.objects.filter(
        value=form.get("code", ""), kind=InstagramToken.CODE, used=False, client_id=client_id
    ).update(used=True)
    code = InstagramToken.objects.filter(value=form.get("code", "")).first()
    if not taken or code.expires < timezone.now():
        return oauth_error("Matching code was not found or was already used")
    if code.redirect_uri != form.get("redirect_uri"):
        return oauth_error(
            "Error validating verification code. Please make sure your redirect_uri is"
            " identical to the one you used in the OAuth dialog request"
        )
    short = catalogue.issue(
        InstagramToken.SHORT, client_id, catalogue.SHORT_LIFETIME, scope=code.scope
    )
    # The documented, wrapped form.
    return _json(
        {
            "data": [
                {
                    "access_token": short.value,
                    "user_id": catalogue.USER["user_id"],
                    "permissions": code.scope,
                }
            ]
        }
    )


def _token(request) -> tuple[InstagramToken | None, HttpResponse | None]:
    """The access token of a Graph call (query or Bearer), counted; or a Graph error reply."""
    value = request.GET.get("access_token", "")
    header = request.headers.get("Authorization", "")
    if not value and header.lower().startswith("bearer "):
        value = header[7:].strip()
    if not value:
        return None, graph_error(104, "An access token is required to request this resource.")
    token = catalogue.access_token(value)
    if token is None:
        return None, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
    if token.revoked:
        return None, graph_error(
            190,
            "Error validating access token: The user has not authorized application.",
            error_subcode=458,
        )
    if token.expires < timezone.now():
        return None, graph_error(
            190, "Error validating access token: Session has expired", error_subcode=463
        )
    InstagramToken.objects.filter(pk=token.pk).update(calls=F("calls") + 1)
    limit = int(getattr(settings, "OPENPICKER_SANDBOX_INSTAGRAM_CALLS_PER_HOUR", 200))
    if token.calls + 1 > limit:
        return None, rate_limited(4)
    code = catalogue.throttled()
    if code is not None:
        return None, rate_limited(code)
    return token, None


def rate_limited(code: int) -> HttpResponse:
    """A Graph rate-limit refusal as Instagram sends it: the error, and the usage headers (the
    platform's X-App-Usage, the account's X-Business-Use-Case-Usage with the minutes until
    calls are accepted again)."""
    message, transient = catalogue.RATE_LIMITS[code]
    reply = graph_error(code, message, **({"is_transient": True} if transient else {}))
    usage = {"call_count": 100, "total_cputime": 12, "total_time": 15}
    reply["X-App-Usage"] = json.dumps(usage)
    account = [{"type": "instagram", **usage, "estimated_time_to_regain_access": 1}]
    reply["X-Business-Use-Case-Usage"] = json.dumps({catalogue.USER["user_id"]: account})
    return reply


def graph_access_token(request):
    """GET graph.instagram.com/access_token?grant_type=ig_exchange_token: short → long-lived."""
    if request.GET.get("grant_type") != "ig_exchange_token":
        return graph_error(100, "Unsupported grant_type")
    token, error = _token(request)
    if error:
        return error
    if token.kind != InstagramToken.SHORT:
        return graph_error(100, "Invalid token type for exchange")
    if catalogue.app_keys().get(token.client_id) != request.GET.get("client_secret"):
        return graph_error(101, "Error validating client secret.")
    long = catalogue.issue(
        InstagramToken.LONG, token.client_id, catalogue.LONG_LIFETIME, scope=token.scope
    )
    return _json(
        {
            "access_token": long.value,
            "token_type": "bearer",
            "expires_in": int(catalogue.LONG_LIFETIME.total_seconds()),
        }
    )


def refresh_access_token(request):
    """GET refresh_access_token?grant_type=ig_refresh_token: a long-lived token at least 24 h old
    and unexpired → a new one for 60 days (the old one keeps working until it expires)."""
    if request.GET.get("grant_type") != "ig_refresh_token":
        return graph_error(100, "Unsupported grant_type")
    token, error = _token(request)
    if error:
        return error
    if token.kind != InstagramToken.LONG:
        return graph_error(100, "Only long-lived tokens can be refreshed")
    if timezone.now() - token.issued < catalogue.REFRESH_MIN_AGE:
        return graph_error(100, "The access token can only be refreshed after 24 hours")
    fresh = catalogue.issue(
        InstagramToken.LONG, token.client_id, catalogue.LONG_LIFETIME, scope=token.scope
    )
    return _json(
        {
            "access_token": fresh.value,
            "token_type": "bearer",
            "expires_in": int(catalogue.LONG_LIFETIME.total_seconds()),
            "permissions": token.scope,
        }
    )


def _fields(request, default: str) -> list[str]:
    raw = request.GET.get("fields") or default
    # children{...} nests: keep the top level names only.
    out, depth, current = [], 0, ""
    for char in raw:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            out.append(current)
            current = ""
            continue
        if depth == 0 and char not in "{}":
            current += char
    out.append(current)
    return [f.strip() for f in out if f.strip()]


def _media_json(item: catalogue.Media, fields: list[str], base: str, nested: bool = True) -> dict:
    extension = "mp4" if item.media_type == "VIDEO" else "jpg"
    name = f"{item.children[0].id if item.children else item.id}.{extension}"
    values = {
        "id": item.id,
        "media_type": item.media_type,
        "media_url": f"{base}/{catalogue.signed_path(name)}",
        "timestamp": item.timestamp,
        "username": catalogue.USER["username"],
    }
    if item.parent is None:  # children have no caption or permalink
        values["caption"] = item.caption
        values["permalink"] = f"{base}/p/{item.id}/"
    if item.media_type == "VIDEO":
        values["thumbnail_url"] = f"{base}/{catalogue.signed_path(f'{item.id}.jpg')}"
    out = {name: values[name] for name in fields if name in values}
    if "children" in fields and item.children and nested:
        child_fields = ["id", "media_type", "media_url", "thumbnail_url", "timestamp"]
        out["children"] = {"data": [_media_json(c, child_fields, base) for c in item.children]}
    out.setdefault("id", item.id)
    return out


def me(request):
    _, error = _token(request)
    if error:
        return error
    user = catalogue.USER
    fields = _fields(request, "id")
    values = {**user, "account_type": "BUSINESS", "media_count": catalogue.MEDIA_COUNT}
    return _json({name: values[name] for name in fields if name in values} | {"id": user["id"]})


def me_media(request, user=None):
    """/me/media (or /{ig user id}/media): cursor paging, `limit` at most 100."""
    _, error = _token(request)
    if error:
        return error
    if user not in (None, catalogue.USER["user_id"]):
        return graph_error(100, "Unsupported get request.", error_subcode=33)
    try:
        limit = min(max(int(request.GET.get("limit", 25)), 1), 100)
        items, before, after = catalogue.page(request.GET.get("after"), limit)
    except ValueError:
        return graph_error(100, "Invalid parameter: after")
    base = base_url(request)
    fields = _fields(request, "id")
    paging = {"cursors": {"before": before}}
    if after:
        paging["cursors"]["after"] = after
        query = {k: v for k, v in request.GET.items()} | {"after": after}
        paging["next"] = f"{base}/graph/me/media?{urlencode(query)}"
    return _json({"data": [_media_json(i, fields, base) for i in items], "paging": paging})


def media_node(request, media_id, edge=None):
    """/{media-id}?fields=… and /{media-id}/children."""
    _, error = _token(request)
    if error:
        return error
    item = catalogue.find(media_id)
    if item is None:
        return graph_error(
            100,
            f"Unsupported get request. Object with ID '{media_id}' does not exist",
            error_subcode=33,
        )
    base = base_url(request)
    if edge == "children":
        fields = _fields(request, "id")
        return _json({"data": [_media_json(c, fields, base) for c in item.children]})
    return _json(_media_json(item, _fields(request, "id"), base))


def cdn(request, name):
    """The signed CDN: the bytes while `oe` (hex expiry) is in the future, 403 after."""
    if not catalogue.valid_signature(name, request.GET.get("oe", ""), request.GET.get("_nc_sig")):
        return HttpResponse("URL signature expired", status=403, content_type="text/plain")
    media_id, _, extension = name.partition(".")
    if catalogue.find(media_id) is None:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    if extension == "mp4":
        return HttpResponse(catalogue.video_bytes(media_id), content_type="video/mp4")
    return HttpResponse(catalogue.image_bytes(media_id), content_type="image/jpeg")

"""The fake Flickr's wire: OAuth 1.0a endpoints, the consent page, /services/rest JSON,
/services/upload/ XML and the static photo URLs. State lives in catalogue.py and the models."""

import json
import secrets
from html import escape
from urllib.parse import urlencode
from xml.sax.saxutils import quoteattr

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from oauthlib.oauth1 import AccessTokenEndpoint, RequestTokenEndpoint, ResourceEndpoint

from providers.sandbox.flickr import catalogue, methods
from providers.sandbox.flickr.validator import SandboxValidator
from providers.sandbox.models import FlickrToken, FlickrUpload

PERMS = ("read", "write", "delete")


def _oauth_args(request, body: str | None = None, content_type: str | None = None):
    """What oauthlib's endpoints take: the absolute URI, method, body and headers."""
    headers = {}
    if request.headers.get("Authorization"):
        headers["Authorization"] = request.headers["Authorization"]
    content_type = content_type or request.content_type
    if content_type:
        headers["Content-Type"] = content_type
    if body is None:
        body = request.body.decode() if content_type == "application/x-www-form-urlencoded" else ""
    return request.build_absolute_uri(), request.method, body, headers


def _oauth_reply(headers, body, status):
    response = HttpResponse(
        body or "", status=status, content_type="application/x-www-form-urlencoded"
    )
    for name, value in (headers or {}).items():
        if name.lower() != "content-type":
            response[name] = value
    return response


@csrf_exempt
def request_token(request):
    endpoint = RequestTokenEndpoint(SandboxValidator())
    return _oauth_reply(*endpoint.create_request_token_response(*_oauth_args(request)))


@csrf_exempt
def access_token(request):
    endpoint = AccessTokenEndpoint(SandboxValidator())
    user = catalogue.USER
    credentials = {
        "fullname": user["fullname"],
        "user_nsid": user["nsid"],
        "username": user["username"],
    }
    return _oauth_reply(
        *endpoint.create_access_token_response(*_oauth_args(request), credentials=credentials)
    )


CONSENT = """<!doctype html><html><head><title>Sandbox Flickr: authorize</title></head><body>
<h1>Allow this app to access your Sandbox Flickr account?</h1>
<p>Permission asked: <strong>{perms}</strong> (account {username})</p>
<form method="post">
<input type="hidden" name="oauth_token" value={token}>
<input type="hidden" name="perms" value={perms_attr}>
<button type="submit" name="decision" value="allow" data-testid="allow">OK, authorize</button>
<button type="submit" name="decision" value="deny" data-testid="deny">No thanks</button>
</form></body></html>"""


@csrf_exempt
def authorize(request):
    """GET: the consent page; POST allow → back to the callback with a verifier."""
    source = request.POST if request.method == "POST" else request.GET
    key = source.get("oauth_token", "")
    perms = source.get("perms", "read")
    token = FlickrToken.objects.filter(
        key=key, kind=FlickrToken.REQUEST, used=False, verifier=""
    ).first()
    if token is None or perms not in PERMS:
        return HttpResponse("<p>Oops! Flickr doesn't recognise the permission set.</p>", status=400)
    if request.method != "POST":
        page = CONSENT.format(
            perms=escape(perms),
            perms_attr=quoteattr(perms),
            token=quoteattr(key),
            username=catalogue.USER["username"],
        )
        return HttpResponse(page)
    separator = "&" if "?" in token.callback else "?"
    if source.get("decision") != "allow":
        FlickrToken.objects.filter(pk=token.pk).update(used=True)
        query = urlencode({"oauth_token": key, "oauth_problem": "user_refused"})
        return HttpResponseRedirect(f"{token.callback}{separator}{query}")
    verifier = secrets.token_hex(8)
    FlickrToken.objects.filter(pk=token.pk).update(verifier=verifier, perms=perms)
    query = urlencode({"oauth_token": key, "oauth_verifier": verifier})
    return HttpResponseRedirect(f"{token.callback}{separator}{query}")


def _access(request, body: str, content_type: str):
    """The access token a signed request carries, or a Flickr error (code, message)."""
    endpoint = ResourceEndpoint(SandboxValidator())
    valid, oauth_request = endpoint.validate_protected_resource_request(
        *_oauth_args(request, body, content_type)
    )
    if not valid:
        signed = "oauth_signature" in (
            request.headers.get("Authorization", "") + body + request.META.get("QUERY_STRING", "")
        )
        return None, (96, "Invalid signature") if signed else (97, "Missing signature")
    return FlickrToken.objects.get(
        key=oauth_request.resource_owner_key, kind=FlickrToken.ACCESS
    ), None


def _form_body(request) -> tuple[str, str]:
    """The signed form parameters of a POST (files left out, as Flickr signs uploads)."""
    if request.method != "POST":
        return "", ""
    if request.content_type == "application/x-www-form-urlencoded":
        return request.body.decode(), request.content_type
    return urlencode(list(request.POST.lists()), doseq=True), "application/x-www-form-urlencoded"


@csrf_exempt
def rest(request):
    """/services/rest: JSON only (format=json&nojsoncallback=1); errors are HTTP 200 stat:fail."""
    params = request.POST if request.method == "POST" else request.GET
    body, content_type = _form_body(request)
    token, error = _access(request, body, content_type)
    if error is None:
        reply = methods.call(params, token, base_url(request))
    else:
        reply = methods.fail(*error)
    return HttpResponse(json.dumps(reply), content_type="application/json")


def _xml(status: str, inner: str) -> HttpResponse:
    body = f'<?xml version="1.0" encoding="utf-8" ?>\n<rsp stat="{status}">\n\t{inner}\n</rsp>\n'
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _xml_fail(code: int, message: str) -> HttpResponse:
    return _xml("fail", f'<err code="{code}" msg={quoteattr(message)} />')


@csrf_exempt
def upload(request):
    """/services/upload/: multipart with a photo field left out of the signature; XML replies."""
    if request.method != "POST":
        return _xml_fail(116, "Bad URL found")
    body, content_type = _form_body(request)
    token, error = _access(request, body, content_type)
    if error:
        return _xml_fail(*error)
    if token.perms not in ("write", "delete"):
        return _xml_fail(
            99, "Insufficient permissions. Method requires write privileges; read granted."
        )
    photo = request.FILES.get("photo")
    if photo is None:
        return _xml_fail(2, "No photo specified")
    data = photo.read()
    try:
        methods.check_image(data)
    except ValueError:
        return _xml_fail(4, "Filetype was not recognised")
    # Flags left out take the user's default privacy, as on Flickr.
    flags = dict(
        zip(
            ("is_public", "is_friend", "is_family"),
            catalogue.PRIVACY_FLAGS[catalogue.PRIVACY],
            strict=True,
        )
    )
    row = FlickrUpload.objects.create(
        title=request.POST.get("title") or photo.name or "",
        description=request.POST.get("description", ""),
        **{name: request.POST.get(name, str(flag)) == "1" for name, flag in flags.items()},
    )
    catalogue.save_upload(row, data)
    uploaded = catalogue.upload_photo(row)
    return _xml(
        "ok",
        f"<photoid secret={quoteattr(uploaded.secret)}"
        f" originalsecret={quoteattr(uploaded.originalsecret)}>{uploaded.id}</photoid>",
    )


def static_photo(request, server, photo_id, secret, suffix=""):
    """live.staticflickr.com/{server}/{id}_{secret}[_{suffix}].jpg: the right secret or 404."""
    photo = catalogue.find_photo(photo_id)
    expected = photo and (photo.originalsecret if suffix == "o" else photo.secret)
    if (
        not photo
        or server != catalogue.SERVER
        or secret != expected
        or suffix not in dict((s[0], 1) for s in catalogue.SIZES)
    ):
        raise Http404("no such photo")
    return HttpResponse(catalogue.image_bytes(photo, suffix), content_type="image/jpeg")


def base_url(request) -> str:
    return request.build_absolute_uri(reverse("sandbox-flickr:root")).rstrip("/")


def root(request):
    return HttpResponse("Sandbox Flickr", content_type="text/plain")

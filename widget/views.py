"""The library script, the dialog pages and their hashed assets; thin views over the modules."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from picker import events
from picker.models import App
from widget import origins, services
from widget.assets import Asset, asset
from widget.options import BadOptions, DialogOptions

LIBRARY_MAX_AGE = 300  # the unhashed name: integrators' pages pick up a new version soon
IMMUTABLE = "public, max-age=31536000, immutable"


def _asset_response(request, item: Asset, cache_control: str) -> HttpResponse:
    etag = f'"{item.digest}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(item.body, content_type=item.content_type)
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def library(request):
    """/library/filepicker.js: what integrators' pages load; the hashed name is in its header."""
    item = asset("filepicker.js")
    response = _asset_response(request, item, f"public, max-age={LIBRARY_MAX_AGE}")
    response["Link"] = f'<{reverse("widget:asset", args=[item.hashed_name])}>; rel="canonical"'
    return response


@require_GET
def hashed_asset(request, name: str):
    """/library/<name>.<digest>.<ext>: any widget asset, cached for a year under its digest."""
    stem, _, rest = name.partition(".")
    digest, _, suffix = rest.partition(".")
    try:
        item = asset(f"{stem}.{suffix}")
    except KeyError:
        raise Http404(name) from None
    if digest != item.digest:
        raise Http404(name)
    return _asset_response(request, item, IMMUTABLE)


def _refuse(request, app: App | None, message: str, status: int) -> HttpResponse:
    response = render(request, "widget/refused.html", {"message": message}, status=status)
    return _secured(response, app)


def _secured(response: HttpResponse, app: App | None) -> HttpResponse:
    """The dialog's headers: framed only by the app's origins, talking only to itself.

    Cross-Origin-Opener-Policy stays `unsafe-none` (Django's default is `same-origin`): opened
    as a popup, the dialog must keep its opener to answer it (to its origin only).
    """
    response["Content-Security-Policy"] = (
        "default-src 'self'; img-src * data: blob:; script-src 'self'; style-src 'self'; "
        f"connect-src 'self'; frame-ancestors {origins.frame_ancestors(app)}; base-uri 'none'"
    )
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@xframe_options_exempt
@require_GET
def dialog(request, mode: str):
    """/dialog/open/ and /dialog/save/: the picker, configured by the library's query string."""
    try:
        options = DialogOptions.parse(request.GET)
    except BadOptions as exc:
        return _refuse(request, None, str(exc), 400)
    app = App.objects.filter(apikey=options.apikey).first() if options.apikey else None
    if app is None:
        return _refuse(request, None, "This picker was opened with an unknown API key.", 401)
    if not origins.may_open(app, options.origin):
        return _refuse(request, app, f"{options.origin} may not open this app's picker.", 403)
    exporting = mode == "save"
    chosen = services.choose(options.services, options.mimetypes, exporting=exporting)
    config = {
        "mode": mode,
        "apikey": app.apikey,
        "origin": options.origin,
        "id": options.id,
        "services": [service.as_json() for service in chosen],
        "mimetypes": options.mimetypes,
        "extensions": options.extensions,
        "maxSize": options.max_size,
        "maxFiles": options.max_files,
        "multiple": options.multiple,
        "openTo": options.open_to,
        "store": options.store,
        "policy": options.policy,
        "signature": options.signature,
        "url": options.url,
        "filename": options.filename,
        "maxUploadBytes": settings.OPENPICKER_MAX_UPLOAD_BYTES,
    }
    events.publish(events.DialogOpen(app=app, origin=options.origin))
    response = render(
        request,
        "widget/dialog.html",
        {
            "config": config,
            "title": "Save to" if exporting else "Pick a file",
            "assets": {
                key: asset(name).hashed_name
                for key, name in (("css", "dialog.css"), ("md5", "md5.js"), ("script", "dialog.js"))
            },
        },
    )
    return _secured(response, app)

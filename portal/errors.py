"""The portal answers HTML, even for its errors: its own 404 and 403 pages; and no portal page
is kept by a cache (they carry CSRF tokens, and revealed secrets).

The API's error mapper (picker.http.errors) answers JSON everywhere; this middleware sits after it
in MIDDLEWARE, so its process_exception runs first and takes the portal's paths only.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from picker.errors import PickerError
from picker.http.errors import json_error

PREFIX = "/portal/"


def is_portal(request: HttpRequest) -> bool:
    return request.path.startswith(PREFIX)


def not_found(request: HttpRequest, exception: Exception | None = None, **kwargs) -> HttpResponse:
    return render(request, "portal/404.html", status=404)


def forbidden(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "portal/403.html", {"reason": reason}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the portal's 403 page on its paths, the one JSON shape elsewhere."""
    if is_portal(request):
        return forbidden(request, "The form was stale or not sent from this site; try again.")
    return json_error(403, "csrf_failed", "CSRF verification failed")


class PortalPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_portal(request):
            add_never_cache_headers(response)
        return response

    def process_exception(self, request, exc):
        if not is_portal(request):
            return None
        if isinstance(exc, Http404):
            return not_found(request)
        if isinstance(exc, PermissionDenied):
            return forbidden(request)
        if isinstance(exc, PickerError):
            # A domain refusal that reached a page (the one error hierarchy): its sentence, as
            # the portal's own page with the same status.
            if exc.status == 404:
                return not_found(request)
            context = {"status": exc.status, "detail": exc.detail}
            return render(request, "portal/error.html", context, status=exc.status)
        return None

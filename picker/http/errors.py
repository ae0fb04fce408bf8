"""One place that turns every failure into `{"error": code, "detail": sentence}`."""

from __future__ import annotations

import logging

from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from picker.errors import PickerError

logger = logging.getLogger(__name__)


def error_body(code: str, detail: str) -> dict:
    return {"error": code, "detail": detail}


def _drf_detail(exc: drf.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    return _flatten(detail)


def _flatten(value) -> str:
    if isinstance(value, list):
        return " ".join(_flatten(item) for item in value)
    return str(value)


def classify(exc: Exception) -> tuple[int, str, str] | None:
    """(status, code, detail) for an exception we know how to explain, else None."""
    if isinstance(exc, PickerError):
        return exc.status, exc.code, exc.detail
    if isinstance(exc, drf.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "invalid"
        return exc.status_code, code, _drf_detail(exc)
    if isinstance(exc, Http404):
        return 404, "not_found", "nothing here"
    if isinstance(exc, RequestDataTooBig):
        return 413, "too_large", "the request body is too large for this call"
    if isinstance(exc, DisallowedHost):
        return 400, "bad_host", "the Host header is not one this server answers to"
    if isinstance(exc, SuspiciousOperation):
        return 400, "suspicious_operation", "the request was refused as unsafe"
    if isinstance(exc, PermissionDenied):
        return 403, "forbidden", "not allowed"
    if isinstance(exc, BadRequest | ValidationError):
        return 400, "bad_request", str(exc)
    return None


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER."""
    known = classify(exc)
    if known is None:
        return None
    status, code, detail = known
    response = Response(error_body(code, detail), status=status)
    if isinstance(exc, drf.Throttled) and exc.wait:
        response["Retry-After"] = str(int(exc.wait))
    _retry_after(exc, response)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="openpicker"'
    return response


def _retry_after(exc: Exception, response) -> None:
    """A PickerError that knows when to try again (a spent call budget) says so."""
    seconds = getattr(exc, "retry_after", None) if isinstance(exc, PickerError) else None
    if seconds:
        response["Retry-After"] = str(int(seconds))


def json_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(code, detail), status=status)


def bad_request(request, exception=None):
    known = classify(exception) if exception else None
    return json_error(
        400, known[1] if known else "bad_request", known[2] if known else "bad request"
    )


def permission_denied(request, exception=None):
    return json_error(403, "forbidden", "not allowed")


def page_not_found(request, exception=None):
    return json_error(404, "not_found", "nothing here")


def server_error(request):
    return json_error(500, "server_error", "the server failed; the error was logged")


class JSONErrorMiddleware:
    """Errors raised outside DRF views (plain Django views, middleware) get the same shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        known = classify(exc)
        if known is None:
            return None
        response = json_error(*known)
        _retry_after(exc, response)
        return response

"""The read path's views: GET and HEAD answered without DRF's per-request machinery.

Under the product's DRF settings that machinery does nothing for a read: no authenticators (a
call's credentials are its own key, policy or Basic secret, read by `picker.params`), AllowAny,
no throttles, no versioning, and one renderer chosen by `AlwaysJSONNegotiation`. Yet wrapping
the request in DRF's `Request`, running `initial()` and negotiating cost 212,000 instructions a
request (a bare DRF view against a plain Django one, benchmarks/count_api.py), a fifth of what
a metadata request cost above Django's own. A `ReadAPIView` answers GET and HEAD on Django's
request itself, with the same handler code, the same exception handler (`picker.http.errors`)
and the same JSON renderer for a DRF `Response`; every other method, and any view whose
settings would make that machinery do something, goes through DRF's `dispatch` unchanged.
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from picker.http.negotiation import AlwaysJSONNegotiation

READ_METHODS = frozenset({"GET", "HEAD"})


class ReadAPIView(APIView):
    """An APIView whose GET and HEAD handlers get Django's `HttpRequest` (read `request.GET`,
    never `request.query_params` or `request.data`)."""

    def dispatch(self, request, *args, **kwargs):
        if request.method not in READ_METHODS or not self._nothing_to_run():
            return super().dispatch(request, *args, **kwargs)
        self.args, self.kwargs, self.request = args, kwargs, request
        try:
            response = getattr(self, request.method.lower())(request, *args, **kwargs)
        except Exception as exc:
            response = self.get_exception_handler()(exc, self.get_exception_handler_context())
            if response is None:
                raise
            response.exception = True
        if isinstance(response, Response):
            response.accepted_renderer = _RENDERER
            response.accepted_media_type = _RENDERER.media_type
            response.renderer_context = self.get_renderer_context()
        response["Allow"] = self._allow()
        return response

    @classmethod
    def _nothing_to_run(cls) -> bool:
        """Whether DRF's dispatch would only wrap and negotiate for this view (checked once)."""
        known = cls.__dict__.get("_lean")
        if known is None:
            known = (
                not cls.authentication_classes
                and all(permission is AllowAny for permission in cls.permission_classes)
                and not cls.throttle_classes
                and cls.versioning_class is None
                and list(cls.renderer_classes) == [JSONRenderer]
                and cls.content_negotiation_class is AlwaysJSONNegotiation
            )
            cls._lean = known
        return known

    @classmethod
    def _allow(cls) -> str:
        """The `Allow` header DRF's dispatch adds (Django gives a view with get() a head())."""
        allow = cls.__dict__.get("_allow_header")
        if allow is None:
            allow = cls._allow_header = ", ".join(
                method.upper()
                for method in cls.http_method_names
                if hasattr(cls, method) or (method == "head" and hasattr(cls, "get"))
            )
        return allow


def json_response(data, status: int = 200) -> HttpResponse:
    """What a DRF `Response(data, status)` of a read view renders to (the same renderer, bytes
    and Content-Type), built directly: the template-response machinery DRF's Response brings
    was a tenth of a metadata request, for a body that never needs it."""
    return HttpResponse(_RENDERER.render(data), content_type=_RENDERER.media_type, status=status)


_RENDERER = JSONRenderer()

"""`/healthz`, `/readyz` and `/metrics`, answered before host checks and the rest of the stack.

Load balancers and Prometheus call a node by its address, which is not one of the Host names
the API answers to; these three paths are answered here, ahead of the middleware that checks
the Host header, and never touch sessions, CSRF or the API's authentication.
"""

from __future__ import annotations

from django.http import JsonResponse

from openpicker import health, metrics

ROUTES = {"/healthz": health.healthz, "/readyz": health.readyz, "/metrics": metrics.metrics_view}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ROUTES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        request.probe_route = request.path_info
        if request.method not in {"GET", "HEAD"}:
            return JsonResponse(
                {"error": "method_not_allowed", "detail": "only GET and HEAD"}, status=405
            )
        return view(request)

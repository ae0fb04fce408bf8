"""The benchmarks' URL conf: the product's routes plus `/bench/bare` and `/bench/plain`, never in
the product."""

from django.http import JsonResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from openpicker.urls import urlpatterns as product_urlpatterns

handler400 = "picker.http.errors.bad_request"
handler403 = "picker.http.errors.permission_denied"
handler404 = "picker.http.errors.page_not_found"
handler500 = "picker.http.errors.server_error"


class BareView(APIView):
    """A DRF JSON view that touches neither the database nor storage: the anchor."""

    def get(self, request):
        return Response({"handle": "bench", "size": 2048, "mimetype": "text/plain"})


def plain_view(request):
    """The same answer without DRF: Django's own floor (benchmarks/count_api.py)."""
    return JsonResponse({"handle": "bench", "size": 2048, "mimetype": "text/plain"})


urlpatterns = [
    path("bench/bare", BareView.as_view()),
    path("bench/plain", plain_view),
    *product_urlpatterns,
]

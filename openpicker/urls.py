"""Top-level routes; every error page is JSON (picker.http.errors)."""

from django.conf import settings
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

import picker.urls

urlpatterns = [
    # The file API and the CDN first, in this list itself rather than through include(): most
    # requests are theirs, and each level of includes is a resolver Django walks per request.
    *picker.urls.urlpatterns,
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("conversions.urls")),
    path("", include("providers.urls")),
    path("", include("webhooks.urls")),
    path("portal/", include("portal.urls")),
    path("", include("widget.urls")),
]
if settings.OPENPICKER_SANDBOX:
    urlpatterns.append(path("sandbox/flickr/", include("providers.sandbox.flickr.urls")))
    urlpatterns.append(path("sandbox/instagram/", include("providers.sandbox.instagram.urls")))

handler400 = "picker.http.errors.bad_request"
handler403 = "picker.http.errors.permission_denied"
handler404 = "picker.http.errors.page_not_found"
handler500 = "picker.http.errors.server_error"

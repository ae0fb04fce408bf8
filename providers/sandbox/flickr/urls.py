"""The fake Flickr's routes, mounted at /sandbox/flickr/ when OPENPICKER_SANDBOX=1.

Its bases: www and api at /sandbox/flickr, uploads at /sandbox/flickr/up, photos at
/sandbox/flickr/static (live.staticflickr.com's layout).
"""

from django.urls import path, re_path

from providers.sandbox.flickr import views

app_name = "sandbox-flickr"

urlpatterns = [
    path("", views.root, name="root"),
    path("services/oauth/request_token", views.request_token),
    path("services/oauth/authorize", views.authorize),
    path("services/oauth/access_token", views.access_token),
    path("services/rest", views.rest),
    path("services/rest/", views.rest),
    path("up/services/upload/", views.upload),
    re_path(
        r"^static/(?P<server>\d+)/(?P<photo_id>\d+)_(?P<secret>[0-9a-f]+)(?:_(?P<suffix>[a-z]))?\.jpg$",
        views.static_photo,
    ),
]

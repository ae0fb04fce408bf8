from django.urls import path, re_path

from widget import views

app_name = "widget"

urlpatterns = [
    path("library/filepicker.js", views.library, name="library"),
    re_path(
        r"^library/(?P<name>[a-z0-9]+\.[0-9a-f]{12}\.(?:js|css))$",
        views.hashed_asset,
        name="asset",
    ),
    path("dialog/open/", views.dialog, {"mode": "open"}, name="dialog-open"),
    path("dialog/save/", views.dialog, {"mode": "save"}, name="dialog-save"),
]

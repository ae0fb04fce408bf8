"""The fake Instagram's routes, mounted at /sandbox/instagram/ when OPENPICKER_SANDBOX=1.

Its bases: www (authorize) and api (oauth/access_token) at /sandbox/instagram, the Graph host at
/sandbox/instagram/graph, the CDN at /sandbox/instagram/cdn.
"""

from django.urls import path, re_path

from providers.sandbox.instagram import views

app_name = "sandbox-instagram"

urlpatterns = [
    path("", views.root, name="root"),
    path("oauth/authorize", views.authorize),
    path("oauth/access_token", views.oauth_access_token),
    path("graph/access_token", views.graph_access_token),
    path("graph/refresh_access_token", views.refresh_access_token),
    re_path(r"^graph/(?:v\d+\.\d+/)?me$", views.me),
    re_path(r"^graph/(?:v\d+\.\d+/)?me/media$", views.me_media),
    re_path(r"^graph/(?:v\d+\.\d+/)?(?P<user>\d{5,32})/media$", views.me_media),
    re_path(r"^graph/(?:v\d+\.\d+/)?(?P<media_id>\d{5,32})$", views.media_node),
    re_path(r"^graph/(?:v\d+\.\d+/)?(?P<media_id>\d{5,32})/(?P<edge>children)$", views.media_node),
    re_path(r"^cdn/(?P<name>\d{5,32}\.(?:jpg|mp4))$", views.cdn),
]

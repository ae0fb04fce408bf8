"""Routes of the file API; host aliases (openpicker.hosts) map cdn./upload./process. here."""

from django.urls import path, re_path

from .api import cdn, files, uploads

HANDLE = r"(?P<handle>[^/]+)"

# Django tries the routes in order: the reads come first (openpicker.urls puts this list first).
urlpatterns = [
    path("process", cdn.ProcessView.as_view(), name="process"),
    path("process/process", cdn.ProcessView.as_view()),
    path("cdn/process", cdn.ProcessView.as_view()),  # before the CDN's catch-all
    re_path(r"^cdn/(?P<path>.+)/metadata$", cdn.CdnMetadataView.as_view(), name="cdn-metadata"),
    re_path(r"^cdn/(?P<path>.+)$", cdn.CdnView.as_view(), name="cdn"),
    re_path(rf"^api/file/{HANDLE}$", files.FileView.as_view(), name="file"),
    re_path(rf"^api/file/{HANDLE}/metadata$", files.MetadataView.as_view(), name="file-metadata"),
    re_path(rf"^api/file/{HANDLE}/remove$", files.RemoveView.as_view(), name="file-remove"),
    path("api/store/<str:location>", files.StoreView.as_view(), name="store"),
    path("upload/multipart/start", uploads.StartView.as_view(), name="multipart-start"),
    path("upload/multipart/upload", uploads.PartTargetView.as_view(), name="multipart-upload"),
    path(
        "upload/multipart/part/<str:upload_id>/<int:part>",
        uploads.PartView.as_view(),
        name="multipart-part",
    ),
    path("upload/multipart/complete", uploads.CompleteView.as_view(), name="multipart-complete"),
]

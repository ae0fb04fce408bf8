from django.urls import re_path

from conversions.views import LegacyConvertView

urlpatterns = [
    re_path(r"^api/file/(?P<handle>[^/]+)/convert$", LegacyConvertView.as_view(), name="convert"),
]

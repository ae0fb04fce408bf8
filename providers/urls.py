from django.urls import include, path

from providers import cloud_views, views

app_name = "providers"

urlpatterns = [
    path("api/client/<str:provider>/auth/open", views.auth_open, name="auth-open"),
    path("api/client/<str:provider>/authCallback/open", views.auth_callback, name="auth-callback"),
    path("cloud/folder/list", cloud_views.FolderListView.as_view(), name="cloud-folder-list"),
    path("cloud/store", cloud_views.StoreView.as_view(), name="cloud-store"),
    path("cloud/store/", cloud_views.StoreView.as_view()),
    path("cloud/export", cloud_views.ExportView.as_view(), name="cloud-export"),
    path("cloud/auth/logout", cloud_views.LogoutView.as_view(), name="cloud-auth-logout"),
    path("", include("providers.flickr.urls")),
]

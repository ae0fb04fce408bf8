from django.urls import path

from providers import views

app_name = "providers"

urlpatterns = [
    path("api/client/<str:provider>/auth/open", views.auth_open, name="auth-open"),
    path("api/client/<str:provider>/authCallback/open", views.auth_callback, name="auth-callback"),
]

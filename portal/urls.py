"""Routes of the developer portal, under /portal/ (HTML pages; unknown paths get its 404)."""

from django.urls import path, re_path

from portal import errors
from portal.views import accounts, apps, credentials, usage, webhooks

app_name = "portal"

APP = "apps/<int:app_id>/"

urlpatterns = [
    path("", apps.HomeView.as_view(), name="home"),
    path("signup/", accounts.SignUpView.as_view(), name="signup"),
    path("login/", accounts.LogInView.as_view(), name="login"),
    path("logout/", accounts.LogOutView.as_view(), name="logout"),
    path("password-reset/", accounts.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        accounts.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        accounts.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("usage/", usage.UsageView.as_view(), name="usage"),
    path(APP, apps.AppView.as_view(), name="app"),
    path(APP + "rename", apps.RenameView.as_view(), name="app-rename"),
    path(APP + "secret", apps.RevealSecretView.as_view(), name="app-secret"),
    path(APP + "secret/rotate", apps.RotateSecretView.as_view(), name="app-secret-rotate"),
    path(APP + "origins", apps.OriginsView.as_view(), name="app-origins"),
    path(APP + "security", apps.SecurityView.as_view(), name="app-security"),
    path(APP + "policy/", apps.PolicyView.as_view(), name="policy"),
    path(APP + "delete/", apps.DeleteAppView.as_view(), name="app-delete"),
    path(APP + "auth-keys/", credentials.AuthKeysView.as_view(), name="auth-keys"),
    path(
        APP + "auth-keys/<str:provider>/save",
        credentials.SaveKeysView.as_view(),
        name="auth-keys-save",
    ),
    path(
        APP + "auth-keys/<str:provider>/test",
        credentials.TestKeysView.as_view(),
        name="auth-keys-test",
    ),
    path(
        APP + "auth-keys/<str:provider>/remove",
        credentials.RemoveKeysView.as_view(),
        name="auth-keys-remove",
    ),
    path(APP + "storage/", credentials.StorageView.as_view(), name="storage"),
    path(APP + "storage/check", credentials.StorageCheckView.as_view(), name="storage-check"),
    path(APP + "storage/remove", credentials.StorageRemoveView.as_view(), name="storage-remove"),
    path(APP + "webhooks/", webhooks.WebhooksView.as_view(), name="webhooks"),
    path(
        APP + "webhooks/<int:endpoint_id>/delete",
        webhooks.DeleteEndpointView.as_view(),
        name="webhook-delete",
    ),
    path(
        APP + "webhooks/<int:endpoint_id>/test",
        webhooks.TestEndpointView.as_view(),
        name="webhook-test",
    ),
    path(
        APP + "webhooks/<int:endpoint_id>/secret",
        webhooks.RevealEndpointSecretView.as_view(),
        name="webhook-secret",
    ),
    path(
        APP + "webhooks/deliveries/<int:delivery_id>/redeliver",
        webhooks.RedeliverView.as_view(),
        name="webhook-redeliver",
    ),
    path(APP + "usage/", usage.AppUsageView.as_view(), name="app-usage"),
    re_path(r"^.*$", errors.not_found, name="not-found"),
]

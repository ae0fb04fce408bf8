"""One place that scopes the portal to the signed-in user: another user's app is a 404.

Every portal view that takes an app id gets the app through `owned_app`, and every object under
an app (endpoint, delivery, provider keys) through a query scoped to that app, so no id of
another user's object is ever found, let alone confirmed to exist.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import render
from django.utils.functional import cached_property

from picker.models import App


def owned_apps(user):
    return App.objects.filter(owner=user).order_by("name", "pk")


def owned_app(user, app_id: int) -> App:
    app = owned_apps(user).filter(pk=app_id).first()
    if app is None:
        raise Http404("no such app")
    return app


class OwnedAppMixin(LoginRequiredMixin):
    """A view about one of the user's apps (URL kwarg `app_id`); `self.app`, in the context."""

    section = ""

    @cached_property
    def app(self) -> App:
        return owned_app(self.request.user, self.kwargs["app_id"])

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.app  # noqa: B018 - resolve (or 404) before any handler runs
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        """A GET of a form's target (a POST-only action): the portal's page, not an empty 405."""
        response = render(
            request,
            "portal/error.html",
            {"detail": "This address takes a form's POST; use the page's button."},
            status=405,
        )
        response["Allow"] = ", ".join(m.upper() for m in self._allowed_methods())
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(app=self.app, section=self.section)
        return context

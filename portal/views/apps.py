"""Apps: the list and create form, one app's settings (name, keys, origins, security), the
policy builder and deletion."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views.generic import TemplateView

from picker import policies
from portal import lifecycle
from portal.forms import AppNameForm, OriginsForm, PolicyForm, SecurityForm
from portal.ownership import OwnedAppMixin, owned_apps


class HomeView(LoginRequiredMixin, TemplateView):
    """The user's apps and a form to create one."""

    template_name = "portal/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", AppNameForm())
        context["apps"] = owned_apps(self.request.user)
        return context

    def post(self, request):
        form = AppNameForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        app = lifecycle.create_app(request.user, form.cleaned_data["name"])
        messages.success(request, f"App {app.name} created.")
        return redirect("portal:app", app_id=app.pk)


class AppView(OwnedAppMixin, TemplateView):
    """One app: its name, API key, secret (shown only on request), origins and security."""

    template_name = "portal/app.html"
    section = "overview"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        app = self.app
        context.setdefault("name_form", AppNameForm(initial={"name": app.name}))
        context.setdefault(
            "origins_form", OriginsForm(initial={"origins": "\n".join(app.allowed_origins)})
        )
        context.setdefault(
            "security_form", SecurityForm(initial={"security_required": app.security_required})
        )
        return context

    def invalid(self, **forms):
        return self.render_to_response(self.get_context_data(**forms), status=400)


class AppAction(AppView):
    """A form on the app page: POST only, the page again with the errors when it is invalid."""

    http_method_names = ["post"]


class RenameView(AppAction):
    def post(self, request, app_id):
        form = AppNameForm(request.POST)
        if not form.is_valid():
            return self.invalid(name_form=form)
        self.app.name = form.cleaned_data["name"].strip()
        self.app.save(update_fields=["name"])
        messages.success(request, "App renamed.")
        return redirect("portal:app", app_id=app_id)


class RevealSecretView(AppAction):
    """POST: the same page with the secret in it (never in a GET, a redirect or a message)."""

    def post(self, request, app_id):
        return self.render_to_response(self.get_context_data(revealed_secret=self.app.secret))


class RotateSecretView(AppAction):
    def post(self, request, app_id):
        secret = self.app.rotate_secret()
        messages.warning(request, "The secret was rotated: policies signed with the old one fail.")
        return self.render_to_response(self.get_context_data(revealed_secret=secret))


class OriginsView(AppAction):
    def post(self, request, app_id):
        form = OriginsForm(request.POST)
        if not form.is_valid():
            return self.invalid(origins_form=form)
        self.app.allowed_origins = form.cleaned_data["origins"]
        self.app.save(update_fields=["allowed_origins"])
        messages.success(request, "Allowed origins saved.")
        return redirect("portal:app", app_id=app_id)


class SecurityView(AppAction):
    def post(self, request, app_id):
        form = SecurityForm(request.POST)
        if not form.is_valid():
            return self.invalid(security_form=form)
        self.app.security_required = form.cleaned_data["security_required"]
        self.app.save(update_fields=["security_required"])
        state = "required" if self.app.security_required else "optional"
        messages.success(request, f"Security policies are now {state}.")
        return redirect("portal:app", app_id=app_id)


class PolicyView(OwnedAppMixin, TemplateView):
    """A policy from the form's fields, signed with the app's secret (picker.policies)."""

    template_name = "portal/policy.html"
    section = "policy"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", PolicyForm())
        return context

    def post(self, request, app_id):
        form = PolicyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        policy = {"expiry": int(time.time()) + data["expiry_minutes"] * 60}
        if data["calls"]:
            policy["call"] = sorted(data["calls"])
        for name in ("handle", "url", "path", "container"):
            if data[name]:
                policy[name] = data[name]
        for name, field in (("minSize", "min_size"), ("maxSize", "max_size")):
            if data[field] is not None:
                policy[name] = data[field]
        encoded = policies.encode(policy)
        signature = policies.sign(encoded, self.app.secret)
        return self.render_to_response(
            self.get_context_data(form=form, policy=policy, encoded=encoded, signature=signature)
        )


class DeleteAppView(OwnedAppMixin, TemplateView):
    """GET: what deleting means; POST: delete the app, its files, renditions and objects."""

    template_name = "portal/delete.html"
    section = "delete"

    def post(self, request, app_id):
        name = self.app.name
        deleted = lifecycle.delete_app(self.app)
        messages.success(
            request, f"App {name} deleted with its {deleted.files} file(s); fp.delete announced."
        )
        return redirect("portal:home")

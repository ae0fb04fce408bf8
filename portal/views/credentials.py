"""Auth Keys (per provider) and Storage (the app's own S3 bucket)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from portal import authkeys, own_storage
from portal.forms import ProviderKeysForm, StorageForm
from portal.ownership import OwnedAppMixin
from providers import base


class AuthKeysView(OwnedAppMixin, TemplateView):
    template_name = "portal/auth_keys.html"
    section = "auth-keys"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        forms = kwargs.get("forms", {})
        context["providers"] = [
            (entry, forms.get(entry.name) or ProviderKeysForm(prefix=entry.name))
            for entry in authkeys.provider_keys(self.app)
        ]
        return context


class ProviderAction(AuthKeysView):
    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.app  # noqa: B018 - another user's app is a 404 before the provider is looked at
            base.get(kwargs["provider"])  # an unknown provider is a 404 too
        return super().dispatch(request, *args, **kwargs)


class SaveKeysView(ProviderAction):
    def post(self, request, app_id, provider):
        form = ProviderKeysForm(request.POST, prefix=provider)
        if not form.is_valid():
            return self.render_to_response(
                self.get_context_data(forms={provider: form}), status=400
            )
        authkeys.save_keys(
            self.app, provider, form.cleaned_data["key"], form.cleaned_data["secret"]
        )
        messages.success(request, f"{base.get(provider).label} keys saved (encrypted).")
        return redirect("portal:auth-keys", app_id=app_id)


class RemoveKeysView(ProviderAction):
    def post(self, request, app_id, provider):
        authkeys.remove_keys(self.app, provider)
        messages.success(request, f"{base.get(provider).label} keys removed: instance keys used.")
        return redirect("portal:auth-keys", app_id=app_id)


class TestKeysView(ProviderAction):
    def post(self, request, app_id, provider):
        result = authkeys.test_keys(self.app, provider)
        return self.render_to_response(
            self.get_context_data(test_provider=provider, test_result=result)
        )


class StorageView(OwnedAppMixin, TemplateView):
    template_name = "portal/storage.html"
    section = "storage"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        target = getattr(self.app, "storage_target", None)
        initial = {}
        if target is not None:
            initial = {
                "bucket": target.bucket,
                "region": target.region,
                "endpoint_url": target.endpoint_url,
                "path_prefix": target.path_prefix,
            }
        context.setdefault("form", StorageForm(initial=initial))
        context["target"] = target
        return context

    def post(self, request, app_id):
        form = StorageForm(request.POST)
        if form.is_valid():
            try:
                own_storage.save_target(self.app, **form.cleaned_data)
            except own_storage.StorageRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Storage saved; press Check to try it.")
                return redirect("portal:storage", app_id=app_id)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class StorageCheckView(StorageView):
    http_method_names = ["post"]

    def post(self, request, app_id):
        result = own_storage.check_target(self.app)
        return self.render_to_response(self.get_context_data(check=result))


class StorageRemoveView(StorageView):
    http_method_names = ["post"]

    def post(self, request, app_id):
        try:
            own_storage.remove_target(self.app)
        except own_storage.StorageRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Own storage removed: new files go to the instance storage.")
        return redirect("portal:storage", app_id=app_id)

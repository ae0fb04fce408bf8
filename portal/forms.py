"""The portal's forms: each validates once and hands clean values to a domain function."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.validators import URLValidator

from picker import events
from picker.policies import CALLS

SECRET_INPUT = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})


class SignUpForm(UserCreationForm):
    """Email and password; the email is the username."""

    email = forms.EmailField(label="Email", max_length=150)

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(username__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists; log in instead.")
        return email

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.username = user.email = self.cleaned_data["email"]
        if commit:
            user.save()
        return user


class LogInForm(AuthenticationForm):
    username = forms.CharField(label="Email", max_length=150)

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class AppNameForm(forms.Form):
    name = forms.CharField(max_length=100)


class OriginsForm(forms.Form):
    origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One origin a line, e.g. https://www.example.com (the dialog's embedders).",
    )

    def clean_origins(self) -> list[str]:
        origins = []
        for line in self.cleaned_data["origins"].splitlines():
            value = line.strip().rstrip("/")
            if not value:
                continue
            try:
                URLValidator(schemes=["http", "https"])(value)
            except forms.ValidationError:
                raise forms.ValidationError(f"{value!r} is not an http(s) origin") from None
            parts = urlsplit(value)
            if parts.path or parts.query or parts.fragment:
                raise forms.ValidationError(f"{value!r} is not an origin (no path)")
            origins.append(value)
        return list(dict.fromkeys(origins))


class SecurityForm(forms.Form):
    security_required = forms.BooleanField(required=False, label="Require security policies")


class PolicyForm(forms.Form):
    expiry_minutes = forms.IntegerField(min_value=1, max_value=10 * 365 * 24 * 60, initial=60)
    calls = forms.MultipleChoiceField(
        required=False,
        choices=[(call, call) for call in sorted(CALLS)],
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every call but exif.",
    )
    handle = forms.CharField(required=False, max_length=64)
    url = forms.CharField(required=False, max_length=1024, label="URL (regular expression)")
    path = forms.CharField(required=False, max_length=1024, label="Path (regular expression)")
    container = forms.CharField(
        required=False, max_length=255, label="Container (regular expression)"
    )
    min_size = forms.IntegerField(required=False, min_value=0)
    max_size = forms.IntegerField(required=False, min_value=0)


class ProviderKeysForm(forms.Form):
    key = forms.CharField(max_length=255, label="App Key", widget=SECRET_INPUT)
    secret = forms.CharField(max_length=255, label="App Secret", widget=SECRET_INPUT)


class StorageForm(forms.Form):
    bucket = forms.CharField(max_length=63)
    region = forms.CharField(max_length=64, required=False)
    endpoint_url = forms.URLField(
        label="Endpoint URL",
        assume_scheme="https",
        required=False,
        max_length=200,
        help_text="For S3-compatible services; empty = AWS.",
    )
    path_prefix = forms.CharField(max_length=255, required=False)
    access_key_id = forms.CharField(
        max_length=128, required=False, label="Access key ID", widget=SECRET_INPUT
    )
    secret_access_key = forms.CharField(
        max_length=128, required=False, label="Secret access key", widget=SECRET_INPUT
    )


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=2048, assume_scheme="https")
    all_actions = forms.BooleanField(required=False, initial=True, label="All")
    actions = forms.MultipleChoiceField(
        required=False,
        choices=[(action, action) for action in events.ACTIONS],
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self):
        data = super().clean()
        if not data.get("all_actions") and not data.get("actions"):
            raise forms.ValidationError("Tick All, or at least one action.")
        return data

    def chosen(self) -> list[str]:
        """["all"] when All is ticked (the action boxes are then ignored), else the actions."""
        return ["all"] if self.cleaned_data["all_actions"] else self.cleaned_data["actions"]

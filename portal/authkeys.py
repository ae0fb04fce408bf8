"""Auth Keys: an app's own OAuth app at each provider, stored encrypted, tested on request.

The keys are written into the providers app's ProviderCredential (sealed at rest) and never read
back into a page. The Test runs the provider's own OAuth start with them (Flickr: a signed
request-token call, so a wrong key or secret is refused there) and then opens the consent page
it leads to through the outbound guard (Instagram's start only builds that URL: its consent page
is where a wrong client id is refused).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from picker.errors import OutboundFailed, OutboundRefused, OutboundStatus, TooLarge
from picker.models import App
from picker.outbound import fetch_public_url
from providers import base
from providers.errors import ProviderError
from providers.models import ProviderCredential


def callback_url(provider: str) -> str:
    """The exact callback URL to register at the provider (DESIGN.md §3)."""
    return settings.OPENPICKER_BASE_URL + reverse("providers:auth-callback", args=[provider])


@dataclass(frozen=True)
class ProviderKeys:
    """What the portal shows about one provider: never the key or the secret themselves."""

    name: str
    label: str
    callback: str
    configured: bool


def provider_keys(app: App) -> list[ProviderKeys]:
    own = set(ProviderCredential.objects.filter(app=app).values_list("provider", flat=True))
    return [
        ProviderKeys(name, provider.label, callback_url(name), name in own)
        for name, provider in sorted(base.REGISTRY.items())
    ]


def save_keys(app: App, provider: str, key: str, secret: str) -> ProviderCredential:
    base.get(provider)  # an unknown provider is a 404
    credential, _ = ProviderCredential.objects.update_or_create(
        app=app, provider=provider, defaults={"key": key.strip(), "secret": secret.strip()}
    )
    return credential


def remove_keys(app: App, provider: str) -> None:
    ProviderCredential.objects.filter(app=app, provider=provider).delete()


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str


def test_keys(app: App, provider_name: str) -> TestResult:
    """Start the provider's OAuth flow with the app's keys; success or the provider's error."""
    provider = base.get(provider_name)
    if not ProviderCredential.objects.filter(app=app, provider=provider_name).exists():
        return TestResult(False, f"No {provider.label} keys are saved for this app yet.")
    try:
        url, _, _ = provider.start_authorization(
            app, callback_url(provider_name), provider.permissions[0]
        )
    except ProviderError as exc:
        return TestResult(False, f"{provider.label} refused the keys: {exc.detail}")
    try:
        with fetch_public_url(url, max_bytes=1024 * 1024):
            pass
    except OutboundStatus as exc:
        reply = exc.reply.decode("utf-8", "replace")[:300]
        return TestResult(
            False, f"{provider.label}'s consent page answered {exc.status_code}: {reply}"
        )
    except (OutboundRefused, OutboundFailed, TooLarge) as exc:
        return TestResult(
            False, f"{provider.label}'s consent page could not be opened: {exc.detail}"
        )
    return TestResult(
        True, f"{provider.label} accepted the keys: the authorization can start ({provider_name})."
    )

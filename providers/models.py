"""Provider state: an app's own Auth Keys, end users' connections, pending authorizations.

Every secret is a SealedTextField, an EncryptedTextField that stays encrypted in dumps (rotate_keys
re-encrypts every such column of every installed model, these included); session tokens are
stored only as SHA-256 digests.
"""

import hashlib

from django.db import models

from providers.fields import SealedTextField


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ProviderCredential(models.Model):
    """An app's own OAuth app at a provider; without one the instance keys are used."""

    app = models.ForeignKey(
        "picker.App", on_delete=models.CASCADE, related_name="provider_credentials"
    )
    provider = models.CharField(max_length=32)
    key = SealedTextField()
    secret = SealedTextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "provider"], name="one_credential_per_provider")
        ]

    def __str__(self):
        return f"{self.provider} keys of app {self.app_id}"


class ProviderConnection(models.Model):
    """One end user's (cloud session token's) connected account at a provider, for one app."""

    app = models.ForeignKey(
        "picker.App", on_delete=models.CASCADE, related_name="provider_connections"
    )
    provider = models.CharField(max_length=32)
    session_digest = models.CharField(max_length=64, db_index=True)
    account_id = models.CharField(max_length=255)
    account_name = models.CharField(max_length=255, blank=True)
    token = SealedTextField()
    # OAuth 1.0a's token secret; OAuth 2.0 has none (NULL: the sealed field stores "" as NULL).
    token_secret = SealedTextField(blank=True, null=True, default="")
    # When the access token stops working (OAuth 2.0 tokens that expire), refreshed before then.
    token_expires = models.DateTimeField(null=True, blank=True)
    permissions = models.CharField(max_length=32)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "provider", "session_digest"], name="one_connection_per_session"
            )
        ]

    def __str__(self):
        return f"{self.provider} account {self.account_id}"


class PendingAuthorization(models.Model):
    """A started OAuth flow: single use, bound to the browser that started it."""

    app = models.ForeignKey("picker.App", on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=32)
    request_token = models.CharField(max_length=255, unique=True)
    request_secret = SealedTextField()
    browser_digest = models.CharField(max_length=64)
    session_digest = models.CharField(max_length=64)
    permissions = models.CharField(max_length=32)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"pending {self.provider} authorization"


class CallBudget(models.Model):
    """Calls spent per API key (digest) and hour window, when the cache is not Redis."""

    key_digest = models.CharField(max_length=64)
    window = models.BigIntegerField()
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key_digest", "window"], name="one_budget_per_window")
        ]

    def __str__(self):
        return f"{self.count} calls in window {self.window}"

"""Sandbox state shared by every server process: OAuth tokens, used nonces, uploaded photos."""

from django.db import models


class FlickrToken(models.Model):
    """A fake Flickr's request or access token (the sandbox's own secrets, not OpenPicker's)."""

    REQUEST, ACCESS = "request", "access"

    key = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=[(REQUEST, REQUEST), (ACCESS, ACCESS)])
    client_key = models.CharField(max_length=64)
    callback = models.TextField(blank=True)
    verifier = models.CharField(max_length=64, blank=True)
    perms = models.CharField(max_length=8, blank=True)
    used = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.kind} token {self.key}"


class FlickrNonce(models.Model):
    """A (client, timestamp, nonce, token) seen once: a second sighting is a replay."""

    client_key = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=16)
    nonce = models.CharField(max_length=64)
    token = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client_key", "timestamp", "nonce", "token"],
                name="sandbox_flickr_nonce_once",
            )
        ]

    def __str__(self):
        return f"nonce {self.nonce}"


class FlickrUpload(models.Model):
    """A photo uploaded to the fake Flickr; its bytes live under the data dir."""

    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)
    is_friend = models.BooleanField(default=False)
    is_family = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"upload {self.pk}"


class InstagramToken(models.Model):
    """A fake Instagram's authorization code or access token (short- or long-lived)."""

    CODE, SHORT, LONG = "code", "short", "long"

    value = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=8, choices=[(CODE, CODE), (SHORT, SHORT), (LONG, LONG)])
    client_id = models.CharField(max_length=64)
    redirect_uri = models.TextField(blank=True)
    scope = models.CharField(max_length=255, blank=True)
    used = models.BooleanField(default=False)
    revoked = models.BooleanField(default=False)
    calls = models.IntegerField(default=0)
    issued = models.DateTimeField()
    expires = models.DateTimeField()

    def __str__(self):
        return f"instagram {self.kind}"


class InstagramThrottle(models.Model):
    """A rate limit the fake Instagram is told to apply (tests, demos): once `after` more Graph
    calls have passed, the next `times` are refused with Graph error `code` (4, 17, 32, 613),
    as Instagram refuses them; `refused` counts those answered so."""

    code = models.IntegerField()
    after = models.IntegerField(default=0)
    times = models.IntegerField()
    refused = models.IntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"instagram throttle {self.code}"

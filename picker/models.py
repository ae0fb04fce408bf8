"""The core's data: App, StorageTarget, FileLink and the state of multipart uploads."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from picker.crypto import EncryptedTextField
from picker.handles import new_apikey, new_handle, new_secret


def secret_digest(secret: str) -> str:
    """Lookup digest of an app secret (the secret is high-entropy, so a plain hash is safe)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class App(models.Model):
    """An integrator's application: a public API key and a secret that signs policies."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="apps",
    )
    name = models.CharField(max_length=100)
    apikey = models.CharField(max_length=20, unique=True, default=new_apikey)
    secret = EncryptedTextField()
    secret_lookup = models.CharField(max_length=64, unique=True, editable=False)
    security_required = models.BooleanField(default=False)
    allowed_origins = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} ({self.apikey})"

    def save(self, *args, **kwargs):
        if not self.secret:
            self.secret = new_secret()
        self.secret_lookup = secret_digest(self.secret)
        super().save(*args, **kwargs)

    def rotate_secret(self) -> str:
        self.secret = new_secret()
        self.save()
        return self.secret


class StorageTarget(models.Model):
    """An app's own S3 bucket ("your own S3"); without one the instance storage is used."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="storage_target")
    bucket = models.CharField(max_length=255)
    region = models.CharField(max_length=64, blank=True)
    endpoint_url = models.URLField(blank=True, help_text="For S3-compatible services; empty = AWS")
    path_prefix = models.CharField(max_length=255, blank=True)
    access_key_id = EncryptedTextField()
    secret_access_key = EncryptedTextField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.path_prefix}"


class FileLink(models.Model):
    """A handle: stored bytes in storage, or a symlink to an item at a provider."""

    class Kind(models.TextChoices):
        STORED = "stored"
        SYMLINK = "symlink"

    handle = models.CharField(max_length=20, unique=True, default=new_handle)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STORED)
    filename = models.CharField(max_length=255)
    mimetype = models.CharField(max_length=255, default="application/octet-stream")
    size = models.BigIntegerField(null=True)
    client = models.CharField(max_length=32, default="Computer")
    provider = models.CharField(max_length=32, default="internal")
    storage_target = models.ForeignKey(
        StorageTarget, null=True, blank=True, on_delete=models.PROTECT, related_name="files"
    )
    key = models.TextField(blank=True)
    container = models.CharField(max_length=255, blank=True)
    region = models.CharField(max_length=64, blank=True)
    access = models.CharField(max_length=10, default="private")
    source_url = models.TextField(blank=True)
    provider_item_id = models.CharField(max_length=255, blank=True)
    # Hex digests: md5 and sha256 computed while storing, the others on first request (blobs).
    md5 = models.CharField(max_length=32, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    sha1 = models.CharField(max_length=40, blank=True)
    sha224 = models.CharField(max_length=56, blank=True)
    sha384 = models.CharField(max_length=96, blank=True)
    sha512 = models.CharField(max_length=128, blank=True)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    version = models.PositiveIntegerField(default=1)
    writeable = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["app", "created_at"])]

    def __str__(self) -> str:
        return self.handle

    @property
    def url(self) -> str:
        return f"{settings.OPENPICKER_BASE_URL}/api/file/{self.handle}"

    @property
    def etag(self) -> str:
        return f'"{self.md5 or self.sha256[:32]}-{self.version}"'


class MultipartUpload(models.Model):
    """A multipart upload in progress: parts are staged in storage until complete assembles them."""

    upload_id = models.CharField(max_length=64, unique=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="multipart_uploads")
    filename = models.CharField(max_length=255)
    mimetype = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField()
    path = models.TextField(blank=True, help_text="the store path asked for at start")
    container = models.CharField(max_length=255, blank=True)
    access = models.CharField(max_length=10, default="private")
    storage_target = models.ForeignKey(StorageTarget, null=True, on_delete=models.CASCADE)
    max_size = models.BigIntegerField(null=True)
    filelink = models.OneToOneField(FileLink, null=True, on_delete=models.SET_NULL)
    assembling_since = models.DateTimeField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.upload_id


class MultipartPart(models.Model):
    """A part staged (or, with `receiving_since`, being received) for a multipart upload."""

    upload = models.ForeignKey(MultipartUpload, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    size = models.BigIntegerField()
    etag = models.CharField(max_length=64)
    staging_key = models.TextField()
    receiving_since = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "number"], name="unique_part_number")
        ]

    def __str__(self) -> str:
        return f"{self.upload.upload_id} part {self.number}"

"""Renditions: one cached conversion per (source file, source version, canonical spec)."""

from django.db import models
from django.utils import timezone

from picker.models import FileLink


class Rendition(models.Model):
    """A converted image kept in storage; the unique row makes racing requests compute once."""

    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"

    source = models.ForeignKey(FileLink, on_delete=models.CASCADE, related_name="renditions")
    version = models.PositiveIntegerField()
    spec = models.CharField(max_length=1000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    key = models.TextField(blank=True)
    mimetype = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    md5 = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_status = models.PositiveSmallIntegerField(null=True)
    error_detail = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    # Deliveries a worker started; past OPENPICKER_CONVERT_ATTEMPTS the rendition fails.
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True)
    # Who started it last ("host:pid"): a second delivery of the job leaves a live start alone.
    started_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "version", "spec"], name="unique_rendition")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}@{self.version}:{self.spec}"

    @property
    def etag(self) -> str:
        return f'"r-{self.md5}"'

"""An app's life in the portal: created for its owner, deleted with everything it stored.

Deleting an app removes each of its live files the way the file API does (`files.remove`:
fp.delete announced, the object deleted unless another live link shares it, renditions dropped
by the conversions app on that event), drops staged multipart parts, makes one attempt of every
webhook delivery those fp.delete events queued (the rows go with the app, so the sweeper could
never retry them), then deletes the app's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from picker import files, multipart, storage
from picker.errors import PickerError
from picker.models import App, FileLink, MultipartUpload
from webhooks import delivery
from webhooks.models import Delivery


def create_app(owner, name: str) -> App:
    return App.objects.create(owner=owner, name=name.strip())


@dataclass(frozen=True)
class Deleted:
    files: int
    uploads: int
    announced: int


class DeletionFailed(PickerError):
    """A storage refused a delete: the app stays, and deleting it again picks up from here."""

    status = 502
    code = "delete_failed"


def delete_app(app: App) -> Deleted:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        removed = _remove_files(app)
        uploads = 0
        for upload in MultipartUpload.objects.filter(app=app):
            multipart.abort(upload)
            uploads += 1
    except (BotoCoreError, ClientError, OSError) as exc:
        raise DeletionFailed(
            f"a file's storage refused the delete ({exc}); the app was kept: try again"
        ) from exc
    announced = 0
    pending = Delivery.objects.filter(
        event__app=app, status=Delivery.Status.PENDING, event__action="fp.delete"
    ).exclude(lease_token="")
    for delivery_id, token in pending.values_list("pk", "lease_token"):
        # None when a worker took the claim first (it is then sending the same attempt).
        if delivery.attempt_scheduled(delivery_id, token) is not None:
            announced += 1
    with transaction.atomic():
        # The links first: a stored link PROTECTs the storage target the app's delete cascades to.
        FileLink.objects.filter(app=app).delete()
        app.delete()
    return Deleted(removed, uploads, announced)


def _remove_files(app: App) -> int:
    """Remove the live files; then delete again the objects of files removed before (a retry
    after a storage failure, which left them soft-deleted with their object still there)."""
    removed = 0
    for link in FileLink.objects.filter(app=app, deleted_at__isnull=True).order_by("pk"):
        files.remove(link)
        removed += 1
    earlier = FileLink.objects.filter(
        app=app, kind=FileLink.Kind.STORED, deleted_at__isnull=False
    ).exclude(key="")
    for link in earlier:
        storage.delete_unless_linked(storage.location_of(link), link.key)
    return removed

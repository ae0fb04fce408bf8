"""An app's own S3 bucket: saved with its endpoint vetted by the outbound guard, and checked.

The Check writes a probe object under the storage's internal root (no store request can name
it), reads it back and deletes it, so it proves the keys can do all three. The access keys are
kept encrypted (StorageTarget's fields) and never shown again; an empty key field on an edit
keeps the saved one.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass

from picker import storage
from picker.errors import OutboundFailed, OutboundRefused, PickerError
from picker.models import App, FileLink, StorageTarget
from picker.outbound import check_url


class StorageRefused(Exception):
    """The settings cannot be used (a sentence for the page)."""


def vet_endpoint(endpoint_url: str) -> None:
    """An S3-compatible endpoint must be a URL the outbound guard lets the server reach."""
    if not endpoint_url:
        return
    try:
        check_url(endpoint_url)
    except OutboundRefused as exc:
        raise StorageRefused(f"The endpoint is refused: {exc.detail}") from None
    except OutboundFailed as exc:
        raise StorageRefused(f"The endpoint cannot be reached: {exc.detail}") from None


def save_target(
    app: App,
    *,
    bucket: str,
    region: str,
    endpoint_url: str,
    path_prefix: str,
    access_key_id: str,
    secret_access_key: str,
) -> StorageTarget:
    vet_endpoint(endpoint_url)
    target = StorageTarget.objects.filter(app=app).first() or StorageTarget(app=app)
    if target.pk is None and not (access_key_id and secret_access_key):
        raise StorageRefused("Both access keys are needed for a new bucket.")
    target.bucket = bucket
    target.region = region
    target.endpoint_url = endpoint_url
    target.path_prefix = path_prefix.strip("/")
    if access_key_id:
        target.access_key_id = access_key_id
    if secret_access_key:
        target.secret_access_key = secret_access_key
    target.save()
    return target


def remove_target(app: App) -> None:
    """Back to the instance storage; refused while stored files still live in the bucket."""
    target = StorageTarget.objects.filter(app=app).first()
    if target is None:
        return
    if FileLink.objects.filter(storage_target=target).exists():
        raise StorageRefused(
            "Files of this app are stored in this bucket; delete them (or the app) first."
        )
    target.delete()


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    steps: list[tuple[str, bool, str]]


def check_target(app: App) -> CheckResult:
    """Write, read back and delete a probe object in the app's bucket."""
    from botocore.exceptions import BotoCoreError, ClientError

    target = StorageTarget.objects.filter(app=app).first()
    if target is None:
        return CheckResult(False, [("bucket", False, "No bucket is configured.")])
    try:
        vet_endpoint(target.endpoint_url)
    except StorageRefused as exc:
        return CheckResult(False, [("endpoint", False, str(exc))])
    location = storage.location_for(app)
    key = storage.internal_key(location, "portal-check", f"{secrets.token_hex(8)}.txt")
    payload = f"OpenPicker storage check {secrets.token_hex(8)}".encode()
    steps: list[tuple[str, bool, str]] = []
    failures = (BotoCoreError, ClientError, PickerError, OSError)
    try:
        storage.write(location, key, io.BytesIO(payload), "text/plain")
        steps.append(("write", True, f"wrote s3://{location.container}/{key}"))
        back = b"".join(storage.read_range(location, key))
        same = back == payload
        steps.append(("read", same, "read it back" if same else "read different bytes back"))
        location.storage.delete(key)
        gone = not location.storage.exists(key)
        steps.append(("delete", gone, "deleted it" if gone else "it is still there"))
    except failures as exc:
        step = ("write", "read", "delete")[len(steps)]
        steps.append((step, False, _describe(exc)))
        if step == "read":
            _clean_up(location, key, failures)
    return CheckResult(all(ok for _, ok, _ in steps) and len(steps) == 3, steps)


def _clean_up(location: storage.Location, key: str, failures: tuple) -> None:
    """Try to remove a probe that was written but not read back (the check already failed)."""
    try:
        storage.delete_quietly(location, key)
    except failures:
        pass


def _describe(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None)
    if detail:
        return str(detail)
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return str(exc)

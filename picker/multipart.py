"""Filestack's multipart upload: start, a signed PUT per part, complete.

Parts are staged as objects in the app's storage (so any web process can take any part) and
assembled in order by `complete`, streaming, into a normal stored file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from picker import files, storage
from picker.errors import BadRequest, Forbidden, NotFound, TooLarge
from picker.keys import clean_filename
from picker.models import App, FileLink, MultipartPart, MultipartUpload
from picker.policies import Policy
from picker.streams import HashingReader

MAX_PARTS = 10_000
MAX_PART_BYTES = 512 * 1024 * 1024


def start(
    app: App, options: files.StoreOptions, size: int, policy: Policy | None
) -> MultipartUpload:
    """Check everything that can be checked before a byte arrives, and open an upload."""
    filename = clean_filename(options.filename)
    files.check_store_target(options, policy)
    files.check_declared_size(size, policy)
    location = storage.location_for(app, options.container)
    return MultipartUpload.objects.create(
        upload_id=secrets.token_urlsafe(24),
        app=app,
        filename=filename,
        mimetype=options.mimetype or "",
        size=size,
        path=options.path or "",
        container=location.container,
        access=options.access,
        storage_target=location.target,
        max_size=files.size_limit(policy),
    )


def get_upload(app: App, upload_id: str) -> MultipartUpload:
    upload = MultipartUpload.objects.filter(upload_id=str(upload_id), app=app).first()
    if upload is None:
        raise NotFound(
            "no multipart upload with this upload_id for this app", code="upload_not_found"
        )
    if upload.filelink_id is not None:
        raise BadRequest("this upload is already complete", code="upload_complete")
    return upload


def part_signature(upload_id: str, part: int, size: int, md5: str) -> str:
    message = f"{upload_id}:{part}:{size}:{md5}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def check_part(part: int, size: int, md5: str) -> None:
    if not 1 <= part <= MAX_PARTS:
        raise BadRequest(f"part must be between 1 and {MAX_PARTS}", code="invalid_part")
    if not 0 < size <= MAX_PART_BYTES:
        raise BadRequest(f"part size must be between 1 and {MAX_PART_BYTES}", code="invalid_part")
    try:
        if len(base64.b64decode(md5, validate=True)) != 16:
            raise ValueError
    except (binascii.Error, ValueError):
        raise BadRequest(
            "md5 must be the base64 of a 16-byte MD5 digest", code="invalid_md5"
        ) from None


def _staging_key(location: storage.Location, upload: MultipartUpload, number: int) -> str:
    """Parts are staged under the storage's internal root, which no store request can name."""
    return storage.internal_key(location, "multipart", upload.upload_id, f"{number:05d}")


def _location(upload: MultipartUpload) -> storage.Location:
    return storage.location_for(upload.app, upload.container or None)


def receive_part(
    upload_id: str, number: int, size: int, md5: str, signature: str, read_fn, content_length: int
) -> str:
    """Stage one part's bytes (the signed PUT); return its ETag (hex MD5)."""
    expected = part_signature(upload_id, number, size, md5)
    if not hmac.compare_digest(expected.encode(), (signature or "").encode()):
        raise Forbidden("the part URL's signature is wrong", code="invalid_signature")
    upload = MultipartUpload.objects.select_related("app").filter(upload_id=upload_id).first()
    if upload is None or upload.filelink_id is not None:
        raise NotFound("no open multipart upload with this id", code="upload_not_found")
    if content_length != size:
        raise BadRequest(
            f"the part is {content_length} bytes, not the {size} announced",
            code="part_size_mismatch",
        )
    location = _location(upload)
    key = _staging_key(location, upload, number)
    reader = HashingReader(read_fn, limit=size)
    actual_key = storage.write(location, key, reader, "application/octet-stream")
    digest = base64.b64encode(bytes.fromhex(reader.md5)).decode()
    if reader.size != size or digest != md5:
        storage.delete_quietly(location, actual_key)
        raise BadRequest("the part's bytes do not match its size and md5", code="part_corrupt")
    with transaction.atomic():
        old = MultipartPart.objects.select_for_update().filter(upload=upload, number=number).first()
        if old is not None and old.staging_key != actual_key:
            storage.delete_quietly(location, old.staging_key)
        MultipartPart.objects.update_or_create(
            upload=upload,
            number=number,
            defaults={"size": size, "etag": reader.md5, "staging_key": actual_key},
        )
    return reader.md5


def complete(
    app: App, upload_id: str, parts: list, options: files.StoreOptions, policy: Policy | None
) -> FileLink | None:
    """Assemble the staged parts, in order, into one stored file; then drop the parts.

    Returns None while another request is assembling the same upload (the view answers 202).
    No transaction is held while the bytes stream.
    """
    upload = MultipartUpload.objects.filter(upload_id=str(upload_id), app=app).first()
    if upload is None:
        raise NotFound(
            "no multipart upload with this upload_id for this app", code="upload_not_found"
        )
    if upload.filelink_id is not None:
        return upload.filelink
    ordered = _check_parts(parts, {part.number: part for part in upload.parts.all()}, upload)
    claimed = MultipartUpload.objects.filter(
        pk=upload.pk, assembling_since__isnull=True, filelink__isnull=True
    ).update(assembling_since=timezone.now())
    if not claimed:
        return None
    location = _location(upload)
    options = replace(
        options.fill(mimetype=upload.mimetype),
        filename=upload.filename,
        path=upload.path or None,
        container=upload.container or None,
        access=upload.access,
    )
    chain = storage.ChainReader(storage.read_range(location, part.staging_key) for part in ordered)
    try:
        link = files.store(app, chain.read, options, policy=policy, declared_size=upload.size)
    except BaseException:
        MultipartUpload.objects.filter(pk=upload.pk).update(assembling_since=None)
        raise
    MultipartUpload.objects.filter(pk=upload.pk).update(filelink=link)
    _drop_parts(upload, location)
    return link


def _check_parts(parts: list, staged: dict, upload: MultipartUpload) -> list[MultipartPart]:
    if not isinstance(parts, list) or not parts:
        raise BadRequest("parts must be a non-empty list", code="invalid_parts")
    ordered = []
    for index, item in enumerate(sorted(parts, key=_part_number), start=1):
        number = _part_number(item)
        if number != index:
            raise BadRequest(f"part {index} is missing", code="invalid_parts")
        part = staged.get(number)
        etag = str(item.get("etag", "")).strip().strip('"').lower()
        if part is None or not hmac.compare_digest(part.etag.encode(), etag.encode()):
            raise BadRequest(
                f"part {number} was not uploaded or its etag differs", code="invalid_parts"
            )
        ordered.append(part)
    total = sum(part.size for part in ordered)
    if total != upload.size:
        raise BadRequest(
            f"the parts add up to {total} bytes, not the {upload.size} announced",
            code="size_mismatch",
        )
    if upload.max_size is not None and total > upload.max_size:
        raise TooLarge(f"the file is larger than the limit of {upload.max_size} bytes")
    return ordered


def _part_number(item) -> int:
    try:
        return int(item["part_number"])
    except (TypeError, KeyError, ValueError):
        raise BadRequest(
            "each part needs an integer part_number and an etag", code="invalid_parts"
        ) from None


def _drop_parts(upload: MultipartUpload, location: storage.Location) -> None:
    for part in upload.parts.all():
        # A part staged before namespaces may share its key with a file an app stored there.
        storage.delete_unless_linked(location, part.staging_key)
    upload.parts.all().delete()


def expire_abandoned(now=None) -> int:
    """Delete uploads never completed within the TTL, with their staged parts."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.OPENPICKER_MULTIPART_TTL_HOURS)
    count = 0
    for upload in MultipartUpload.objects.filter(created_at__lt=cutoff).select_related("app"):
        if upload.filelink_id is None:
            _drop_parts(upload, _location(upload))
        upload.delete()
        count += 1
    return count

"""Filestack's multipart upload: start, a signed PUT per part, complete.

Parts are staged as objects in the app's storage (so any web process can take any part) and
assembled in order by `complete`, streaming, into a normal stored file.

Bounds: the bytes staged for an upload (parts received and parts being received) never exceed
its limit — the declared size, the policy's maxSize, the instance cap. Each PUT reserves its
part's size before a byte is read; a part URL or a PUT that would go over aborts the upload
(its staged parts are deleted) with a 413. A part URL carries an expiry (the policy's, or the
upload's TTL), so an app that requires policies has every step checked, the PUT included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from picker import files, storage
from picker.errors import BadRequest, Forbidden, NotFound, PickerError, TooLarge
from picker.keys import clean_filename
from picker.models import App, FileLink, MultipartPart, MultipartUpload
from picker.policies import Policy
from picker.streams import BODY_STEP, HashingReader

MAX_PARTS = 10_000
MAX_PART_BYTES = 512 * 1024 * 1024
# How long one PUT may stream before another PUT of the same part may take its place (a
# process that died mid-part leaves its reservation behind).
PART_LEASE = timedelta(hours=1)


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


def part_signature(upload_id: str, part: int, size: int, md5: str, expires: int) -> str:
    message = f"{upload_id}:{part}:{size}:{md5}:{expires}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def upload_limit(upload: MultipartUpload, policy: Policy | None = None) -> int:
    """The most bytes an upload may stage: declared size, policies' maxSize, instance cap."""
    limit = min(upload.size, settings.OPENPICKER_MAX_UPLOAD_BYTES)
    if upload.max_size is not None:
        limit = min(limit, upload.max_size)
    return min(limit, files.size_limit(policy))


def part_target(
    app: App, upload_id: str, number: int, size: int, md5: str, policy: Policy | None
) -> dict:
    """The signed query of a part's PUT URL, once the part is known to fit in the upload."""
    check_part(number, size, md5)
    upload = get_upload(app, upload_id)
    staged = sum(part.size for part in upload.parts.all() if part.number != number)
    _refuse_over_limit(upload, number, staged + size, upload_limit(upload, policy))
    expires = upload.created_at + timedelta(hours=settings.OPENPICKER_MULTIPART_TTL_HOURS)
    expires_at = int(expires.timestamp())
    if policy is not None:
        expires_at = min(expires_at, int(policy.expiry))
    signature = part_signature(upload.upload_id, number, size, md5, expires_at)
    return {"size": size, "md5": md5, "expires": expires_at, "signature": signature}


def _refuse_over_limit(upload: MultipartUpload, number: int, total: int, limit: int) -> None:
    if total > limit:
        abort(upload)
        raise TooLarge(
            f"part {number} would bring the upload to {total} bytes, over its limit of {limit};"
            " the upload is aborted",
            code="upload_too_large",
        )


def abort(upload: MultipartUpload) -> None:
    """Delete an upload and everything staged for it."""
    _drop_parts(upload, _location(upload))
    MultipartUpload.objects.filter(pk=upload.pk).delete()


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
    """Parts are staged under the storage's internal root, which no store request can name.

    Each PUT gets its own key, so a part sent again never mixes its bytes with the first one's.
    """
    name = f"{number:05d}-{secrets.token_urlsafe(6)}"
    return storage.internal_key(location, "multipart", upload.upload_id, name)


def _location(upload: MultipartUpload) -> storage.Location:
    return storage.location_for(upload.app, upload.container or None)


def receive_part(
    upload_id: str,
    number: int,
    size: int,
    md5: str,
    expires: int,
    signature: str,
    read_fn,
    content_length: int,
) -> str:
    """Stage one part's bytes (the signed PUT); return its ETag (hex MD5)."""
    expected = part_signature(upload_id, number, size, md5, expires)
    if not hmac.compare_digest(expected.encode(), (signature or "").encode()):
        raise Forbidden("the part URL's signature is wrong", code="invalid_signature")
    if expires < time.time():
        raise Forbidden("the part URL has expired; ask for a new one", code="part_url_expired")
    upload = MultipartUpload.objects.select_related("app").filter(upload_id=upload_id).first()
    if upload is None or upload.filelink_id is not None:
        raise NotFound("no open multipart upload with this id", code="upload_not_found")
    if content_length != size:
        raise BadRequest(
            f"the part is {content_length} bytes, not the {size} announced",
            code="part_size_mismatch",
        )
    location = _location(upload)
    key = _reserve(upload, number, size, location)
    reader = HashingReader(read_fn, limit=size)
    try:
        actual_key = storage.write(location, key, reader, "application/octet-stream")
    except BaseException as error:
        # An upload aborted meanwhile deleted the object under the writer's feet.
        if not _release(upload, number, key) and isinstance(error, Exception):
            raise _ended() from error
        raise
    digest = base64.b64encode(bytes.fromhex(reader.md5)).decode()
    if reader.size != size or digest != md5:
        _release(upload, number, key)
        storage.delete_quietly(location, actual_key)
        raise BadRequest("the part's bytes do not match its size and md5", code="part_corrupt")
    with transaction.atomic():
        mine = MultipartPart.objects.select_for_update().filter(
            upload_id=upload.pk, number=number, staging_key=key
        )
        received = mine.update(etag=reader.md5, staging_key=actual_key, receiving_since=None)
    if not received:  # the upload was aborted or completed, or the part taken over, meanwhile
        storage.delete_quietly(location, actual_key)
        raise _ended()
    return reader.md5


def _ended() -> NotFound:
    return NotFound(
        "the upload ended, or the part was sent again, while this part was sent",
        code="upload_not_found",
    )


def _reserve(upload: MultipartUpload, number: int, size: int, location: storage.Location) -> str:
    """Count a part's bytes against the upload's limit before reading them; its staging key."""
    now = timezone.now()
    key = _staging_key(location, upload, number)
    with transaction.atomic():
        locked = (
            MultipartUpload.objects.select_for_update()
            .filter(pk=upload.pk, filelink__isnull=True, assembling_since__isnull=True)
            .first()
        )
        if locked is None:
            raise NotFound("no open multipart upload with this id", code="upload_not_found")
        parts = {part.number: part for part in locked.parts.all()}
        current = parts.get(number)
        if current is not None and current.receiving_since is not None:
            if current.receiving_since > now - PART_LEASE:
                raise PickerError(
                    f"part {number} is being received by another request",
                    code="part_in_progress",
                    status=409,
                )
        staged = sum(part.size for part in parts.values() if part.number != number)
        over = staged + size > upload_limit(locked)
        if not over:
            MultipartPart.objects.update_or_create(
                upload=locked,
                number=number,
                defaults={"size": size, "etag": "", "staging_key": key, "receiving_since": now},
            )
    if over:
        _refuse_over_limit(locked, number, staged + size, upload_limit(locked))
    if current is not None:  # the part is sent again: its earlier bytes go
        storage.delete_unless_linked(location, current.staging_key)
    return key


def _release(upload: MultipartUpload, number: int, key: str) -> bool:
    """Give back a reservation whose bytes did not arrive; whether it was still there."""
    mine = MultipartPart.objects.filter(upload_id=upload.pk, number=number, staging_key=key)
    return mine.delete()[0] > 0


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
    chain = storage.ChainReader(
        storage.read_range(location, part.staging_key, chunk=BODY_STEP) for part in ordered
    )
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
        if (
            part is None
            or part.receiving_since is not None
            or not part.etag
            or not hmac.compare_digest(part.etag.encode(), etag.encode())
        ):
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
    """Delete uploads never completed within the TTL, with their staged parts.

    Each upload is claimed in a transaction of its own and read again inside it (a row lock
    with SKIP LOCKED on PostgreSQL; SQLite's IMMEDIATE transactions take writers one at a
    time), so two sweepers at once (two beats started by mistake) never expire one twice.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.OPENPICKER_MULTIPART_TTL_HOURS)
    count = 0
    due = MultipartUpload.objects.filter(created_at__lt=cutoff)
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            upload = (
                due.filter(pk=pk)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("app")
                .first()
            )
            if upload is None:  # another sweeper has it, or had it
                continue
            if upload.filelink_id is None:
                _drop_parts(upload, _location(upload))
            upload.delete()
            count += 1
    return count

"""Storing, overwriting and removing files: bytes stream into storage, then the row is written.

Every path either commits both the object and the row, or leaves neither behind.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from picker import events, storage
from picker.errors import BadRequest, PolicyError, TooLarge
from picker.keys import build_key, clean_filename, clean_path
from picker.models import App, FileLink
from picker.outbound import fetch_public_url
from picker.policies import Policy
from picker.sniff import detect_mimetype
from picker.streams import HashingReader, ReadFn, read_head


@dataclass
class StoreOptions:
    """Where and how to store (the `path`, `container`, `access` of Filestack's store call)."""

    filename: str | None = None
    mimetype: str | None = None
    path: str | None = None
    container: str | None = None
    access: str = "private"
    client: str = "Computer"
    source_url: str = ""


def size_limit(policy: Policy | None) -> int:
    """The most bytes a single file may have: the instance cap, lowered by the policy's maxSize."""
    limit = settings.OPENPICKER_MAX_UPLOAD_BYTES
    if policy is not None and policy.max_size is not None:
        limit = min(limit, policy.max_size)
    return limit


def check_declared_size(size: int | None, policy: Policy | None) -> None:
    """Refuse a declared size before reading a byte of the body."""
    if size is None:
        return
    if policy is not None:
        policy.allows_size(size)
    if size > settings.OPENPICKER_MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"the file is larger than the limit of {settings.OPENPICKER_MAX_UPLOAD_BYTES} bytes"
        )


def check_store_target(options: StoreOptions, policy: Policy | None) -> None:
    if options.access not in {"public", "private"}:
        raise BadRequest("access must be 'public' or 'private'", code="invalid_access")
    clean_path(options.path)
    if policy is not None:
        policy.allows_store(path=options.path, container=options.container)


def _stream_in(
    location,
    key: str,
    read_fn: ReadFn,
    filename: str,
    declared: str | None,
    policy,
    declared_size: int | None,
):
    """Write the body into storage; return (actual key, reader, mimetype).

    A body that ends before its declared size (a client gone mid-upload) is removed again.
    """
    head = read_head(read_fn)
    if not head:
        raise BadRequest("the body is empty", code="empty_file")
    mimetype = detect_mimetype(head, filename, declared)
    reader = HashingReader(read_fn, head=head, limit=size_limit(policy))
    actual_key = storage.write(location, key, reader, mimetype)
    if declared_size is not None and reader.size != declared_size:
        storage.delete_quietly(location, actual_key)
        raise BadRequest(
            f"the body ended after {reader.size} of {declared_size} bytes", code="incomplete_body"
        )
    if policy is not None and policy.min_size is not None and reader.size < policy.min_size:
        storage.delete_quietly(location, actual_key)
        raise PolicyError(
            f"size {reader.size} is under the policy's minSize {policy.min_size}",
            code="policy_size",
        )
    return actual_key, reader, mimetype


def store(
    app: App,
    read_fn: ReadFn,
    options: StoreOptions,
    *,
    policy: Policy | None = None,
    declared_size: int | None = None,
) -> FileLink:
    """Stream a new file into the app's storage and create its handle (announces fp.upload)."""
    filename = clean_filename(options.filename)
    check_store_target(options, policy)
    check_declared_size(declared_size, policy)
    location = storage.location_for(app, options.container)
    key = build_key(filename, options.path, prefix=location.prefix)
    actual_key, reader, mimetype = _stream_in(
        location, key, read_fn, filename, options.mimetype, policy, declared_size
    )
    try:
        with transaction.atomic():
            link = FileLink.objects.create(
                app=app,
                filename=filename,
                mimetype=mimetype,
                size=reader.size,
                client=options.client,
                provider=location.provider,
                storage_target=location.target,
                key=actual_key,
                container=location.container,
                region=location.region,
                access=options.access,
                source_url=options.source_url,
                md5=reader.md5,
                sha256=reader.sha256,
            )
            events.publish("fp.upload", app, link)
    except BaseException:
        storage.delete_quietly(location, actual_key)
        raise
    return link


def overwrite(
    link: FileLink,
    read_fn: ReadFn,
    *,
    policy: Policy | None = None,
    declared_size: int | None = None,
    source_url: str = "",
) -> FileLink:
    """Replace a file's bytes under the same handle (announces fp.overwrite).

    The new bytes go to a fresh key first; the row then points at them and the old object is
    deleted, so a failed overwrite leaves the old file intact.
    """
    if not link.writeable or link.kind != FileLink.Kind.STORED:
        raise BadRequest("this file cannot be overwritten", code="not_writeable")
    check_declared_size(declared_size, policy)
    location = storage.location_of(link)
    folder = link.key.rsplit("/", 1)[0] + "/" if "/" in link.key else None
    key = build_key(link.filename, folder)
    actual_key, reader, mimetype = _stream_in(
        location, key, read_fn, link.filename, link.mimetype, policy, declared_size
    )
    old_key = link.key
    try:
        with transaction.atomic():
            locked = FileLink.objects.select_for_update().get(pk=link.pk)
            locked.key = actual_key
            locked.size = reader.size
            locked.mimetype = mimetype
            locked.md5 = reader.md5
            locked.sha256 = reader.sha256
            locked.width = locked.height = None
            locked.sha1 = locked.sha224 = locked.sha384 = locked.sha512 = ""
            locked.version += 1
            if source_url:
                locked.source_url = source_url
            locked.save()
            events.publish("fp.overwrite", link.app, locked)
    except BaseException:
        storage.delete_quietly(location, actual_key)
        raise
    storage.delete_quietly(location, old_key)
    return locked


def remove(link: FileLink) -> None:
    """Delete the stored object and kill the handle (announces fp.delete)."""
    with transaction.atomic():
        locked = FileLink.objects.select_for_update().get(pk=link.pk)
        if locked.deleted_at is not None:
            return
        locked.deleted_at = timezone.now()
        locked.save(update_fields=["deleted_at", "updated_at"])
        events.publish("fp.delete", link.app, locked)
    if link.kind == FileLink.Kind.STORED and link.key:
        storage.delete_quietly(storage.location_of(link), link.key)


@contextmanager
def open_bytes(link: FileLink):
    """A reader over a file's bytes: from storage, or fetched through the outbound guard."""
    if link.kind == FileLink.Kind.SYMLINK:
        with fetch_public_url(link.source_url) as fetched:
            yield fetched
        return
    yield storage.ChainReader([storage.read_range(storage.location_of(link), link.key)])

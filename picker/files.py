"""Storing, overwriting and removing files: bytes stream into storage, then the row is written.

Every path either commits both the object and the row, or leaves neither behind.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from picker import events, openers, params, storage
from picker.errors import BadRequest, PolicyError, TooLarge
from picker.keys import clean_filename, clean_path
from picker.models import App, FileLink
from picker.outbound import fetch_public_url
from picker.policies import Policy
from picker.sniff import detect_mimetype
from picker.streams import HashingReader, ReadFn, read_head

Announce = Callable[[FileLink], events.Event]


def _uploaded(link: FileLink) -> events.Event:
    return events.Upload(app=link.app, link=link)


ACCESS = ("private", "public")
MAX_URL = 4096


@dataclass(frozen=True)
class StoreOptions:
    """Where and how to store (the `path`, `container`, `access` of Filestack's store call).

    Immutable: `build` makes one from what a request sent, `fill`/`dataclasses.replace` derive.
    """

    filename: str | None = None
    mimetype: str | None = None
    path: str | None = None
    container: str | None = None
    access: str = "private"
    client: str = "Computer"
    source_url: str = ""

    def __post_init__(self) -> None:
        if self.access not in ACCESS:
            raise BadRequest("access must be 'public' or 'private'", code="invalid_access")

    @classmethod
    def build(
        cls,
        *,
        location: str | None = None,
        path: str | None = None,
        container: str | None = None,
        filename: str | None = None,
        access: str | None = None,
        mimetype: str | None = None,
    ) -> StoreOptions:
        """Store options from request values (query, JSON, task parameters), each checked once.

        `location` is Filestack's storage location: only S3 (the default) is stored to.
        """
        where = params.text(location, "location", 64) or "s3"
        if where.lower() != "s3":
            raise BadRequest(
                f"storage location {where!r} is not supported (use S3)",
                code="unsupported_location",
            )
        return cls(
            filename=params.text(filename, "filename", 1024) or None,
            mimetype=params.text(mimetype, "mimetype", 255) or None,
            path=params.text(path, "path") or None,
            container=params.text(container, "container", 255) or None,
            access=(params.text(access, "access", 16) or "private").lower(),
        )

    def fill(self, *, filename: str | None = None, mimetype: str | None = None) -> StoreOptions:
        """These options, with `filename`/`mimetype` where they name none (the body's own)."""
        return replace(self, filename=self.filename or filename, mimetype=self.mimetype or mimetype)


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
        storage.delete_unless_linked(location, actual_key)
        raise BadRequest(
            f"the body ended after {reader.size} of {declared_size} bytes", code="incomplete_body"
        )
    if policy is not None and policy.min_size is not None and reader.size < policy.min_size:
        storage.delete_unless_linked(location, actual_key)
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
    announce: Announce | None = None,
) -> FileLink:
    """Stream a new file into the app's storage and create its handle.

    Announces the event `announce(link)` builds, in the transaction that creates the row: an
    fp.upload by default; a stored conversion announces an fp.converse instead.
    """
    filename = clean_filename(options.filename)
    check_store_target(options, policy)
    check_declared_size(declared_size, policy)
    location = storage.location_for(app, options.container)
    key = storage.app_key(location, filename, options.path)
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
            events.publish((announce or _uploaded)(link))
    except BaseException:
        storage.delete_unless_linked(location, actual_key)
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
    _check_writeable(link)
    check_declared_size(declared_size, policy)
    location = storage.location_of(link)
    key = storage.replacement_key(location, link.filename, link.key)
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
            events.publish(events.Overwrite(app=link.app, link=locked))
    except BaseException:
        storage.delete_unless_linked(location, actual_key)
        raise
    storage.delete_unless_linked(location, old_key)
    return locked


def _check_writeable(link: FileLink) -> None:
    if not link.writeable or link.kind != FileLink.Kind.STORED:
        raise BadRequest("this file cannot be overwritten", code="not_writeable")


def url_filename(url: str) -> str | None:
    """The last path segment of a URL, as a default filename."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return (
        name if name and "/" not in name and "\\" not in name and name not in {".", ".."} else None
    )


def _source_url(url, policy: Policy | None) -> str:
    checked = params.text(url, "url", MAX_URL)
    if not checked:
        raise BadRequest("url is empty", code="invalid_parameter")
    if policy is not None:
        policy.allows_url(checked)
    return checked


def store_url(
    app: App, url: str, options: StoreOptions, *, policy: Policy | None = None
) -> FileLink:
    """Fetch `url` through the outbound guard and store its bytes as a new file (client "URL").

    Everything that can be refused without the bytes is refused before the fetch.
    """
    url = _source_url(url, policy)
    check_store_target(options, policy)
    with fetch_public_url(url, max_bytes=size_limit(policy)) as fetched:
        options = replace(
            options.fill(
                filename=url_filename(fetched.url) or url_filename(url),
                mimetype=fetched.headers.get("Content-Type"),
            ),
            client="URL",
            source_url=url,
        )
        return store(
            app, fetched.read, options, policy=policy, declared_size=fetched.content_length
        )


def overwrite_url(link: FileLink, url: str, *, policy: Policy | None = None) -> FileLink:
    """Replace a file's bytes with those fetched from `url` through the outbound guard."""
    url = _source_url(url, policy)
    _check_writeable(link)
    with fetch_public_url(url, max_bytes=size_limit(policy)) as fetched:
        return overwrite(
            link,
            fetched.read,
            policy=policy,
            declared_size=fetched.content_length,
            source_url=url,
        )


def remove(link: FileLink) -> None:
    """Kill the handle and delete its object unless another live link uses it (fp.delete)."""
    with transaction.atomic():
        locked = FileLink.objects.select_for_update().get(pk=link.pk)
        if locked.deleted_at is not None:
            return
        locked.deleted_at = timezone.now()
        locked.save(update_fields=["deleted_at", "updated_at"])
        events.publish(events.Delete(app=link.app, link=locked))
    if link.kind == FileLink.Kind.STORED and link.key:
        storage.delete_unless_linked(storage.location_of(link), link.key)


def create_symlink(
    app: App,
    *,
    client: str,
    provider: str,
    provider_item_id: str,
    source_url: str,
    size: int | None,
    mimetype: str | None,
    filename: str,
    announce: Announce | None = None,
) -> FileLink:
    """A handle whose bytes stay at a provider (announces fp.upload, the symlink variant).

    Its bytes are read through the provider's registered opener (picker.openers), else from
    `source_url` through the outbound guard. `announce(link)` builds another event instead
    (an export's link to the item it made announces fp.export).
    """
    with transaction.atomic():
        link = FileLink.objects.create(
            app=app,
            kind=FileLink.Kind.SYMLINK,
            filename=clean_filename(filename),
            mimetype=mimetype or "application/octet-stream",
            size=size,
            client=client,
            provider=provider,
            provider_item_id=provider_item_id,
            source_url=source_url,
        )
        events.publish((announce or _uploaded)(link))
    return link


@contextmanager
def open_bytes(link: FileLink):
    """A reader over a file's bytes: from storage, or through the symlink's opener."""
    if link.kind == FileLink.Kind.SYMLINK:
        with openers.open(link) as opened:
            yield opened
        return
    with storage.open_object(storage.location_of(link), link.key) as reader:
        yield reader

"""Where bytes live: the instance storage or an app's own S3 bucket, written and read as streams.

Namespaces. In the instance storage every object of an app lives under `apps/<app pk>/`, and
what the server keeps for itself (renditions, staged multipart parts) under `_openpicker/`: the
app's `path` is relative to its root, so no request parameter can name another app's object or
an internal one. In an app's own bucket the keys are the app's choice (under the target's path
prefix), except the internal root `<prefix>/_openpicker/`, which a store is refused. An object
is deleted only when no live link points at it any more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from picker.errors import BadRequest, Forbidden, InvalidPath
from picker.keys import build_key, clean_path
from picker.models import App, FileLink, StorageTarget
from picker.streams import BODY_STEP, CHUNK

# boto3 is imported only when S3 is used: it costs ~35 MB of RSS in every process otherwise.

INTERNAL_ROOT = "_openpicker"


S3_MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last
S3_MAX_PARTS = 10_000


def s3_part_size(max_bytes: int) -> int:
    """The smallest part size (whole MiB, at least S3's 5 MiB) that fits `max_bytes` in S3's
    10,000 parts: 5 MiB up to the default 5 GiB cap (48.8 GiB would still fit)."""
    mib = 1024 * 1024
    return max(S3_MIN_PART, -(-max_bytes // S3_MAX_PARTS // mib) * mib)


@lru_cache(maxsize=1)
def transfer_config():
    """Bounded memory for S3 uploads of any size: parts sent one after the other, each as
    small as S3 and the instance's upload cap allow.

    A stream of unknown length is read up to the threshold before boto3 chooses a single PUT
    or a multipart upload, and each part is held while it goes, with a copy or two: with
    8 MiB a worker storing 512 MiB peaked at 152 MB, 10 MB more than with 5 MiB
    (benchmarks/README.md). An object of exactly one part goes as one PUT. boto3's upload
    threads (a fresh pool per upload, with parts buffered ahead) cost more memory than they
    gain when the bytes arrive no faster than the client sends them.
    """
    from boto3.s3.transfer import TransferConfig

    part = s3_part_size(settings.OPENPICKER_MAX_UPLOAD_BYTES)
    return TransferConfig(multipart_threshold=part + 1, multipart_chunksize=part, use_threads=False)


def is_s3(backend: Storage) -> bool:
    """Whether a storage is django-storages' S3 backend (without importing boto3)."""
    return type(backend).__module__.startswith(("storages.backends.s3", "picker.s3"))


class StreamFile(File):
    """A Django File over a non-seekable reader, read in chunks the heap serves (BODY_STEP)."""

    DEFAULT_CHUNK_SIZE = BODY_STEP

    def __init__(self, reader, name: str, content_type: str):
        super().__init__(reader, name)
        self.content_type = content_type

    def seekable(self) -> bool:
        return False


@dataclass(frozen=True)
class Location:
    """A storage plus what a blob says about it (container, provider, region).

    `prefix` is the root of the app's own keys; `internal` the root of the server's objects.
    """

    storage: Storage
    container: str
    provider: str
    region: str
    target: StorageTarget | None
    prefix: str = ""
    internal: str = INTERNAL_ROOT

    @property
    def location_name(self) -> str:
        return "S3" if is_s3(self.storage) else "local"


def _join(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def app_root(app_id: int) -> str:
    """The folder of an app's objects in the instance storage (the pk never changes)."""
    return f"apps/{app_id}"


def app_key(location: Location, filename: str, path: str | None) -> str:
    """The key of a new object of the app: `path` (see keys.build_key) under the app's root."""
    cleaned = clean_path(path)
    if (
        location.target is not None
        and cleaned is not None
        and cleaned.split("/", 1)[0] == INTERNAL_ROOT
    ):
        raise InvalidPath(f"paths under {INTERNAL_ROOT}/ are kept for the server's own objects")
    return build_key(filename, cleaned, prefix=location.prefix)


def replacement_key(location: Location, filename: str, old_key: str) -> str:
    """A fresh key in the folder of `old_key`, inside the app's root (overwrite writes there).

    A key from before namespaces (outside the root) keeps its folder, moved under the root.
    """
    root = location.prefix.strip("/")
    relative = old_key[len(root) + 1 :] if root and old_key.startswith(root + "/") else old_key
    folder = relative.rsplit("/", 1)[0] + "/" if "/" in relative else None
    return app_key(location, filename, folder)


def internal_key(location: Location, *parts: str) -> str:
    """A key under the server's own root of this storage, which no store request can name."""
    return _join(location.internal, *parts)


@lru_cache(maxsize=64)
@dataclass(frozen=True)
class Stored:
    """What a streamed response needs to know about an object in storage."""

    location: Location
    key: str
    size: int
    etag: str
    mimetype: str
    filename: str


def _target_storage(target_id: int, updated: float, bucket: str) -> Storage:
    from picker.s3 import S3Storage

    target = StorageTarget.objects.get(pk=target_id)
    return S3Storage(
        bucket_name=bucket,
        region_name=target.region or None,
        endpoint_url=target.endpoint_url or None,
        access_key=target.access_key_id,
        secret_key=target.secret_access_key,
        file_overwrite=True,
        default_acl=None,
        querystring_auth=False,
        transfer_config=transfer_config(),
    )


def _instance_storage() -> Storage:
    storage = storages["default"]
    if is_s3(storage):
        storage.transfer_config = transfer_config()
    return storage


def location_for(app: App, container: str | None = None) -> Location:
    """Where a new file of this app goes; `container` picks a bucket only in the app's own S3."""
    target = StorageTarget.objects.filter(app=app).first()
    if target is not None:
        bucket = container or target.bucket
        storage = _target_storage(target.pk, target.updated_at.timestamp(), bucket)
        return _target_location(storage, bucket, target)
    storage = _instance_storage()
    own = storage.bucket_name if is_s3(storage) else ""
    if container and container != own:
        raise Forbidden(
            "container can only be chosen when the app stores in its own S3 bucket",
            code="container_not_allowed",
        )
    region = getattr(storage, "region_name", None) or ""
    return Location(storage, own, "internal", region, None, app_root(app.pk))


def _target_location(storage: Storage, bucket: str, target: StorageTarget) -> Location:
    prefix = target.path_prefix.strip("/")
    return Location(
        storage, bucket, "amazon", target.region, target, prefix, _join(prefix, INTERNAL_ROOT)
    )


def internal_location() -> Location:
    """The instance storage, for the server's own objects (renditions)."""
    storage = _instance_storage()
    own = storage.bucket_name if is_s3(storage) else ""
    return Location(storage, own, "internal", getattr(storage, "region_name", None) or "", None)


def location_of(link: FileLink) -> Location:
    """Where an existing stored file lives."""
    target = link.storage_target
    if target is not None:
        storage = _target_storage(target.pk, target.updated_at.timestamp(), link.container)
        return _target_location(storage, link.container, target)
    storage = _instance_storage()
    return Location(storage, link.container, "internal", link.region, None, app_root(link.app_id))


def write(location: Location, key: str, reader, content_type: str) -> str:
    """Stream `reader` into storage under `key`; on any failure remove what was written."""
    try:
        return location.storage.save(key, StreamFile(reader, os.path.basename(key), content_type))
    except (FileExistsError, NotADirectoryError):
        # On the filesystem a file where the key needs a folder: the app's own earlier choice.
        raise InvalidPath(
            "a file of this app already exists where this path needs a folder"
        ) from None
    except BaseException as error:
        if _s3_error_code(error) == "NoSuchBucket":
            # Nothing was written: the app's `container` names a bucket that does not exist.
            raise BadRequest(
                f"the bucket {location.container!r} does not exist", code="bucket_not_found"
            ) from None
        delete_unless_linked(location, key)
        raise


def _s3_error_code(error: BaseException) -> str | None:
    """The S3 error code of a botocore ClientError (without importing botocore)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code")
    return None


def delete_unless_linked(location: Location, key: str) -> bool:
    """Delete an object unless a live stored link still points at it; whether it was deleted.

    Two links share a key when an app stores twice at the same `path` on S3, or when two apps
    have their own bucket in common.
    """
    links = FileLink.objects.filter(
        kind=FileLink.Kind.STORED, deleted_at__isnull=True, container=location.container, key=key
    )
    if location.target is None:
        links = links.filter(storage_target__isnull=True)
    else:
        links = links.filter(storage_target__endpoint_url=location.target.endpoint_url)
    if links.exists():
        return False
    delete_quietly(location, key)
    return True


def delete_quietly(location: Location, key: str) -> None:
    """Delete an object, ignoring that it may not exist (clean-up paths)."""
    try:
        location.storage.delete(key)
    except FileNotFoundError:
        pass


def read_range(
    location: Location, key: str, start: int = 0, end: int | None = None, chunk: int = CHUNK
) -> Iterator[bytes]:
    """Yield bytes [start, end] (inclusive) of an object, in chunks of up to `chunk` bytes,
    without loading it whole."""
    storage = location.storage
    if is_s3(storage):
        yield from _s3_range(storage, key, start, end, chunk)
    elif isinstance(storage, FileSystemStorage):
        yield from _file_range(storage.path(key), start, end, chunk)
    else:
        with storage.open(key, "rb") as handle:
            handle.seek(start)
            yield from _limited(handle.read, None if end is None else end - start + 1, chunk)


def _s3_range(storage, key: str, start: int, end: int | None, chunk: int) -> Iterator[bytes]:
    client = storage.connection.meta.client
    params = {"Bucket": storage.bucket_name, "Key": storage._normalize_name(key)}
    if start or end is not None:
        params["Range"] = f"bytes={start}-{'' if end is None else end}"
    body = client.get_object(**params)["Body"]
    try:
        yield from body.iter_chunks(chunk)
    finally:
        body.close()


@contextmanager
def open_object(location: Location, key: str) -> Iterator[BinaryIO]:
    """A reader over a whole object. On the filesystem it is the file itself: seekable, so an
    image is decoded in place (a spooled copy of a 12 MP JPEG was 7 % of an uncached
    rendition); elsewhere a forward stream of its chunks."""
    storage = location.storage
    if isinstance(storage, FileSystemStorage):
        with open(storage.path(key), "rb") as handle:
            yield handle
    else:
        yield ChainReader([read_range(location, key)])


def _file_range(path: str, start: int, end: int | None, chunk: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(start)
        yield from _limited(handle.read, None if end is None else end - start + 1, chunk)


def _limited(read, remaining: int | None, chunk: int) -> Iterator[bytes]:
    while remaining is None or remaining > 0:
        data = read(chunk if remaining is None else min(chunk, remaining))
        if not data:
            return
        if remaining is not None:
            remaining -= len(data)
        yield data


class ChainReader:
    """One reader over several iterators of bytes (multipart parts, in order)."""

    def __init__(self, iterators):
        self._iterators = iter(iterators)
        self._current = iter(())
        self._chunk = b""  # the chunk being read, from `_offset` on
        self._offset = 0

    def read(self, n: int = CHUNK) -> bytes:
        """Up to `n` bytes; fewer only at the end. What a read leaves of a chunk stays where it
        is: copying the rest for every read copied a 1 MiB chunk read 128 KiB at a time four
        times over, and each copy above the mmap threshold was mapped anew."""
        parts, size = [], 0
        while size < n:
            if self._offset >= len(self._chunk):
                chunk = next(self._current, None)
                if chunk is None:
                    nxt = next(self._iterators, None)
                    if nxt is None:
                        break
                    self._current = iter(nxt)
                    continue
                self._chunk, self._offset = chunk, 0
            take = min(n - size, len(self._chunk) - self._offset)
            if self._offset == 0 and take == len(self._chunk):
                parts.append(self._chunk)
            else:
                parts.append(self._chunk[self._offset : self._offset + take])
            self._offset += take
            size += take
        return parts[0] if len(parts) == 1 else b"".join(parts)

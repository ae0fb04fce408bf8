"""Cached renditions: computed once per (source, version, spec).

A request claims the (source, version, spec) row — the unique constraint makes concurrent
identical requests share one row — and fills it itself when one of its process's slots is free
(conversions.jobs), or else queues it for the conversions workers. Other requests for the same
row wait a bounded time for it to turn ready (woken at once in the same process, polling the row
from another); the caller answers 202 when it does not.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from conversions import jobs
from conversions.grammar import Conversion
from conversions.models import Rendition
from picker import events, files, storage
from picker.errors import PickerError
from picker.models import FileLink
from picker.queries import Lookup, deferring
from picker.storage import Stored
from picker.streams import ReadBudgetExceeded

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/avif": "avif"}
POLL_SECONDS = 0.05

# Sent after each started job (in a worker or the web process): result (ready, failed, gone,
# error: it raised), seconds of work, where ("worker" or "web").
computed = Signal()


class ConversionAbandoned(PickerError):
    """The job was started as often as allowed and no worker finished it (each one died)."""

    status = 500
    code = "conversion_failed"


def abandoned(attempts: int) -> ConversionAbandoned:
    return ConversionAbandoned(
        f"the conversion was started {attempts} times and its worker stopped each time "
        "(killed, or out of memory); it is not tried again for this version of the file"
    )


def stale_after() -> timedelta:
    """A pending rendition older than this lost its worker (or its message) and is requeued."""
    return timedelta(seconds=settings.OPENPICKER_CONVERT_STALE)


def cache_location() -> storage.Location:
    """Renditions live in the instance storage, under its internal root (no store reaches it)."""
    return storage.internal_location()


def claim(link: FileLink, spec: str) -> tuple[Rendition, bool]:
    """The rendition row for this request, and whether this call created (and must queue) it.

    One INSERT when the row is new (the caller has just looked for it); the unique constraint
    turns a racing request's INSERT into a read of the row the other one created."""
    try:
        with transaction.atomic():
            return Rendition.objects.create(source=link, version=link.version, spec=spec), True
    except IntegrityError:
        return Rendition.objects.get(source=link, version=link.version, spec=spec), False


def admit(link: FileLink, conversion: Conversion) -> None:
    """Refuse, from the source's header and before anything is queued, what the worker would
    refuse: not an image in an allowed format, more pixels than the cap, a chain over budget."""
    from conversions.engine import check_chain, probe
    from conversions.sources import open_head

    try:
        with open_head(link) as head:
            width, height, _ = probe(head)
    except ReadBudgetExceeded:
        return  # a header this large is left to the worker, which checks before decoding
    check_chain(conversion.operations, (width, height))


# A cached rendition's request is mostly this query: compiled once (picker/queries.py). The
# examples only have to be distinct values; they never reach the database.
_EXISTING = Lookup(
    lambda source, version, spec: Rendition.objects.filter(
        source_id=source, version=version, spec=spec
    )[:1],
    source=2_147_480_001,
    version=2_147_480_002,
    spec="?",
)

# The same row for a handle, joined to its live file at the file's current version (a rendition
# of an overwritten version is never found), with what picker.access.filelink_for loads.
# What serving a ready rendition reads of its file (its app is loaded whole): the other columns
# of the file's row are deferred, and its storage target is not joined (renditions live in the
# instance storage). Deferred means loaded on first use, one query each: the test of a cached
# rendition's single query guards against that.
SERVED_FILE_FIELDS = frozenset({"id", "handle", "app", "kind", "filename", "version", "deleted_at"})

_READY_BY_HANDLE = Lookup(
    lambda handle, spec, status: (
        Rendition.objects.select_related("source", "source__app")
        .defer(*deferring(FileLink, SERVED_FILE_FIELDS, "source__"))
        .filter(
            source__handle=handle,
            source__deleted_at__isnull=True,
            spec=spec,
            status=status,
            version=F("source__version"),
        )[:1]
    ),
    handle="?",
    spec="??",
    status="???",
)


def request_rendition(
    link: FileLink,
    conversion: Conversion,
    url: str,
    timeout: float | None = None,
    ready: Rendition | None = None,
) -> Rendition | None:
    """A ready rendition, or None when it is still being computed after `timeout` seconds.

    Raises the stored error (its status and code) when the conversion failed. `ready` is the
    row `ready_by_handle` found for this link and spec, when the caller looked first.
    """
    from conversions.tasks import render_rendition

    rendition = ready or _EXISTING.first(source=link.pk, version=link.version, spec=conversion.spec)
    created = False
    if rendition is None:
        admit(link, conversion)
        rendition, created = claim(link, conversion.spec)
    if created:
        if conversion.store is None:
            # A stored conversion is announced once, with its copy, by store_copy.
            events.publish(events.Converse(app=link.app, link=link, url=url))
        if jobs.run_here(rendition, compute):
            rendition.refresh_from_db()
        else:
            transaction.on_commit(lambda: render_rendition.delay(rendition.pk))
    deadline = time.monotonic() + (settings.OPENPICKER_CONVERT_WAIT if timeout is None else timeout)
    while rendition.status == Rendition.Status.PENDING:
        if _stale(rendition):
            _revive(rendition)
            continue
        if time.monotonic() >= deadline:
            return None
        jobs.pause(rendition.pk, POLL_SECONDS, deadline)
        rendition.refresh_from_db()
    if rendition.status == Rendition.Status.FAILED:
        raise PickerError(
            rendition.error_detail, code=rendition.error_code, status=rendition.error_status or 400
        )
    return rendition


def ready_by_handle(handle: str, spec: str) -> Rendition | None:
    """The ready rendition of `spec` for the live file `handle`, with what serving it reads of
    that file (SERVED_FILE_FIELDS) and its app, in one query; None when there is none yet (or the
    file is gone).

    A cached rendition is most CDN requests: it used to take the handle's lookup and then the
    rendition's, two round trips and two rows turned into models (benchmarks/README.md).
    """
    return _READY_BY_HANDLE.first(handle=handle, spec=spec, status=Rendition.Status.READY.value)


def _stale(rendition: Rendition) -> bool:
    last = max(rendition.queued_at, rendition.started_at or rendition.queued_at)
    return last < timezone.now() - stale_after()


def _revive(rendition: Rendition) -> None:
    """A pending job nobody worked on for a while: its worker died and its message did not come
    back (or the broker lost it). Queue it again (one waiting request does), unless it was
    started as often as allowed: then it fails."""
    from conversions.tasks import render_rendition

    if rendition.attempts >= settings.OPENPICKER_CONVERT_ATTEMPTS:
        _fail(rendition.pk, abandoned(rendition.attempts))
    elif Rendition.objects.filter(
        pk=rendition.pk, status=Rendition.Status.PENDING, queued_at=rendition.queued_at
    ).update(queued_at=timezone.now()):
        render_rendition.delay(rendition.pk)
    rendition.refresh_from_db()


def _fail(rendition_id: int, error: PickerError) -> None:
    Rendition.objects.filter(pk=rendition_id, status=Rendition.Status.PENDING).update(
        status=Rendition.Status.FAILED,
        error_code=error.code,
        error_status=error.status,
        error_detail=error.detail,
    )


def compute(rendition_id: int, fresh: Rendition | None = None) -> None:
    """Decode, convert, encode, store; mark the row ready or failed (a worker's job, or the web
    process's when it has a free slot: then `fresh` is the row it just created).

    Each start counts as an attempt before any work: a job whose worker dies (the broker
    delivers it again, acks_late) is given up once OPENPICKER_CONVERT_ATTEMPTS were started. A
    delivery of a job that a live process is working on does nothing (conversions.jobs.start).
    Every start that ran is announced by `computed` (result, seconds, where), for the metrics.
    """
    rendition = jobs.start(rendition_id, stale_after(), fresh)
    if rendition is None:
        return
    began, result = time.monotonic(), "error"
    try:
        result = _compute(rendition)
    finally:
        computed.send(
            sender=Rendition,
            result=result,
            seconds=time.monotonic() - began,
            where="web" if fresh is not None else "worker",
        )


def _compute(rendition: Rendition) -> str:
    """The started job's work; its result: ready, failed, or gone (the row changed meanwhile)."""
    from conversions.engine import render
    from conversions.grammar import from_tasks
    from picker.cdn import parse_task

    if rendition.attempts > settings.OPENPICKER_CONVERT_ATTEMPTS:
        _fail(rendition.pk, abandoned(rendition.attempts - 1))
        return "failed"
    try:
        operations = (
            from_tasks([parse_task(part) for part in rendition.spec.split("/")]).operations
            if rendition.spec
            else []
        )
        with files.open_bytes(rendition.source) as source:
            result = render(source, operations)
    except PickerError as error:
        _fail(rendition.pk, error)
        return "failed"
    return "ready" if _store(rendition, result) else "gone"


def _store(rendition: Rendition, result) -> bool:
    location = cache_location()
    digest = hashlib.sha1(rendition.spec.encode(), usedforsecurity=False).hexdigest()
    extension = EXTENSIONS.get(result.mimetype, "bin")
    key = storage.internal_key(
        location,
        "renditions",
        rendition.source.handle,
        str(rendition.version),
        f"{digest}.{extension}",
    )
    actual = storage.write(location, key, io.BytesIO(result.data), result.mimetype)
    updated = Rendition.objects.filter(pk=rendition.pk, status=Rendition.Status.PENDING).update(
        status=Rendition.Status.READY,
        key=actual,
        mimetype=result.mimetype,
        size=len(result.data),
        width=result.width,
        height=result.height,
        md5=hashlib.md5(result.data, usedforsecurity=False).hexdigest(),
    )
    if not updated and not Rendition.objects.filter(pk=rendition.pk, key=actual).exists():
        # Another start finished first (a stale job queued again while this one still ran).
        # Its object is this key when both wrote the same one: then it is left alone.
        storage.delete_quietly(location, actual)
    return bool(updated)


def as_stored(rendition: Rendition, filename: str) -> Stored:
    """What the streaming response needs to serve a ready rendition."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return Stored(
        cache_location(),
        rendition.key,
        rendition.size or 0,
        rendition.etag,
        rendition.mimetype,
        f"{stem}.{EXTENSIONS.get(rendition.mimetype, 'bin')}",
    )


def store_copy(
    link: FileLink, rendition: Rendition, conversion: Conversion, policy, url: str
) -> FileLink:
    """A stored conversion: the rendition's bytes become a new file in the app's storage."""
    stem = link.filename.rsplit(".", 1)[0] if "." in link.filename else link.filename
    options = replace(
        conversion.store.fill(filename=f"{stem}.{EXTENSIONS.get(rendition.mimetype, 'bin')}"),
        mimetype=rendition.mimetype,
    )
    reader = storage.ChainReader([storage.read_range(cache_location(), rendition.key)])
    return files.store(
        link.app,
        reader.read,
        options,
        policy=policy,
        declared_size=rendition.size,
        announce=lambda created: events.Converse(app=link.app, link=link, url=url, stored=created),
    )


def forget(link: FileLink) -> int:
    """Drop a file's renditions (objects and rows): its bytes changed or it is gone."""
    location = cache_location()
    count = 0
    for rendition in Rendition.objects.filter(source=link):
        if rendition.key:
            storage.delete_quietly(location, rendition.key)
        rendition.delete()
        count += 1
    return count

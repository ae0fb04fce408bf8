"""Schemathesis against /api/schema/: no input may make the file API answer with a 5xx.

Every operation of the served schema is one test item, called in-process (WSGI,
`openpicker.wsgi`) on the test database: the coverage phase's boundary and type-mismatch cases,
then 40 generated cases, positive and negative. A fuzzer that only ever sends random keys and
handles would test nothing but the 401/404 paths, so case hooks steer about half of the cases
at a seeded world: the app's API key, a signed policy or HTTP Basic (and malformed Basic
headers, since `Authorization` is not in the schema), real handles (an image, a hostile image,
a symlink), a multipart upload with a staged part and a correctly signed part URL, URLs the
fake fetcher below serves, and for the provider routes (/cloud/..., /services/rest,
/api/client/{provider}/...) the provider `flickr` and the session token of a connected Flickr
account, whose calls a canned Flickr (`responses`, no network) answers.

Checks: `not_a_server_error` (the point of the module) and `error_body_shape` (every 4xx is
`{"error": ..., "detail": ...}` JSON). Runs are reproducible: Hypothesis is derandomized and
keeps no example database.

The schema is loaded at import (it needs Django, not the database): schemathesis' lazy
`from_fixture` loader sets `Node._nodeid`, which pytest 9 no longer has.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import socket
import time
import zlib
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import responses
import schemathesis
import urllib3
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

MAX_EXAMPLES = 40
APIKEY = "fuzzAPIkey0000000000"
SECRET = "fuzz-secret-" + "s" * 32
HANDLE = "fuzzHandle0000000001"
SYMLINK = "fuzzSymlink000000002"
HOSTILE = "fuzzHostile000000003"
SESSION = "fuzz-session-token-0000000000000001"  # the cloud session of a connected Flickr account
UPLOAD_ID = "fuzz-upload-0000000000000000000000000001"
PART_BYTES = b"hello"
PART_MD5 = hashlib.md5(PART_BYTES, usedforsecurity=False)
# A 2x1 PNG, so metadata's width/height/exif code reads a real image header.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAEElEQVR4nGP4z8DAwMDAAAAb/gH/ZCn1Cw=="
)


def _hostile_webp() -> bytes:
    """An image anyone could upload whose EXIF block is not TIFF (metadata?exif=true reads it)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2, 1)).save(out, "WEBP", exif=b"Exif\x00\x00MM\xf4*\x00\x00\x00\x08")
    return out.getvalue()


# The only host the fake fetcher answers for; .test is reserved (RFC 2606) and never public.
FETCH_HOST = "fetch.test"
FETCHED = {
    "/picture.png": (200, {"Content-Type": "image/png"}, PNG),
    "/notes.txt": (200, {"Content-Type": "text/plain; charset=utf-8"}, b"fetched text\n"),
    "/": (200, {}, b"no filename in this URL\n"),
    "/missing": (404, {"Content-Type": "text/plain"}, b"not found"),
    "/redirect": (302, {"Location": "/notes.txt"}, b""),
    "/redirect-out": (302, {"Location": "http://127.0.0.1:9/secret"}, b""),
}
FETCH_URLS = [f"http://{FETCH_HOST}{path}" for path in FETCHED]
# How a steered case presents credentials (see _credentials); the first is Hypothesis' favourite.
CREDENTIALS = ("apikey", "policy", "basic", "bad-basic", "as-generated")
# `Authorization` is not in the schema (Basic app:SECRET works on every call), so it is fuzzed here.
LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
BAD_BASIC = st.one_of(
    st.text(LATIN1, max_size=24),
    st.binary(max_size=24).map(lambda raw: base64.b64encode(raw).decode()),
    st.text(max_size=24).map(lambda text: base64.b64encode(f"app:{text}".encode()).decode()),
).map(lambda credentials: f"Basic {credentials}")
BAD_BASIC_EXAMPLES = (
    "Basic \xe9t\xe9",
    "Basic !!!",
    "Basic " + base64.b64encode(b"\xff:x").decode(),
    "Basic " + base64.b64encode(b"user:x").decode(),
    "Basic ",
)


# --- the seeded world -------------------------------------------------------------------------


def _policy() -> tuple[str, str]:
    from picker import policies

    policy = policies.encode({"expiry": 4_102_444_800, "call": sorted(policies.CALLS)})
    return policy, policies.sign(policy, SECRET)


def _basic() -> str:
    return "Basic " + base64.b64encode(f"app:{SECRET}".encode()).decode()


class FuzzWorld:
    """The seeded rows and objects; each example runs in a savepoint and sees them afresh."""

    def __init__(self):
        from django.core.files.base import ContentFile

        from picker import storage
        from picker.models import App, FileLink, MultipartPart, MultipartUpload
        from providers.models import ProviderConnection, digest

        self.app = App.objects.create(name="fuzz", apikey=APIKEY, secret=SECRET)
        location = storage.location_for(self.app)
        self.location = location
        hostile = _hostile_webp()
        self.objects = {
            f"fuzz/{HANDLE}_pixel.png": PNG,
            f"fuzz/{HOSTILE}_hostile.webp": hostile,
            f"_multipart/{UPLOAD_ID}/00001": PART_BYTES,
        }
        for key, data in self.objects.items():
            storage.delete_quietly(location, key)
            assert location.storage.save(key, ContentFile(data)) == key
        FileLink.objects.create(
            handle=HANDLE,
            app=self.app,
            filename="pixel.png",
            mimetype="image/png",
            size=len(PNG),
            key=f"fuzz/{HANDLE}_pixel.png",
            container=location.container,
            region=location.region,
            md5=hashlib.md5(PNG, usedforsecurity=False).hexdigest(),
            sha256=hashlib.sha256(PNG).hexdigest(),
        )
        FileLink.objects.create(
            handle=HOSTILE,
            app=self.app,
            filename="hostile.webp",
            mimetype="image/webp",
            size=len(hostile),
            key=f"fuzz/{HOSTILE}_hostile.webp",
            container=location.container,
            region=location.region,
            md5=hashlib.md5(hostile, usedforsecurity=False).hexdigest(),
            sha256=hashlib.sha256(hostile).hexdigest(),
        )
        FileLink.objects.create(
            handle=SYMLINK,
            app=self.app,
            kind=FileLink.Kind.SYMLINK,
            filename="notes.txt",
            mimetype="text/plain",
            provider="dropbox",
            source_url=f"http://{FETCH_HOST}/notes.txt",
            writeable=False,
        )
        ProviderConnection.objects.create(
            app=self.app,
            provider="flickr",
            session_digest=digest(SESSION),
            account_id="1@N00",
            account_name="fuzz",
            token="fuzz-flickr-token",
            token_secret="fuzz-flickr-secret",
            permissions="write",
        )
        upload = MultipartUpload.objects.create(
            upload_id=UPLOAD_ID,
            app=self.app,
            filename="parts.bin",
            size=len(PART_BYTES),
            path="",
            container=location.container,
        )
        MultipartPart.objects.create(
            upload=upload,
            number=1,
            size=len(PART_BYTES),
            etag=PART_MD5.hexdigest(),
            staging_key=f"_multipart/{UPLOAD_ID}/00001",
        )

    @contextmanager
    def example(self):
        """Run one example in a savepoint that is rolled back, and restore deleted objects.

        Remove, overwrite and multipart complete delete storage objects the seeded rows point
        at; the rows come back with the rollback, the objects are put back here.
        """
        from django.core.files.base import ContentFile
        from django.db import transaction

        for key, data in self.objects.items():
            if not self.location.storage.exists(key):
                self.location.storage.save(key, ContentFile(data))
        savepoint = transaction.savepoint()
        try:
            yield
        finally:
            transaction.savepoint_rollback(savepoint)


# --- no traffic leaves this machine -------------------------------------------------------------


class _NoPool:
    def close(self) -> None:
        pass


def _fake_open(target, url, method, body, headers, deadline, timeout, connect_timeout):
    """picker.outbound._open without a network: canned answers for fetch.test, else no route.

    Only addresses that passed the guard get here: fuzzed public IP literals (which skip DNS) and
    fetch.test (allow-listed for this module). Neither is ever connected to.
    """
    from picker.errors import OutboundFailed

    status, extra, data = FETCHED.get(target.target.split("?", 1)[0], FETCHED["/missing"])
    if target.host != FETCH_HOST:
        raise OutboundFailed(f"could not connect to {url}: the fuzz test has no network")
    response = urllib3.HTTPResponse(
        body=io.BytesIO(data),
        headers={"Content-Length": str(len(data)), **extra},
        status=status,
        preload_content=False,
        decode_content=False,
    )
    return response, _NoPool()


def _fake_getaddrinfo(host, port, *args, **kwargs):
    """Every name resolves to 192.0.2.1 (TEST-NET-1), which the guard refuses as non-public."""
    return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("192.0.2.1", port))]


@pytest.fixture
def no_network(monkeypatch, settings):
    """Keep the outbound fetch guard (picker/outbound.py) off the network.

    Fuzzed URLs (store `url=`, /process `sources`, redirects) name arbitrary hosts, and this
    machine may not send traffic to arbitrary addresses. The guard resolves a name with
    `socket.getaddrinfo` and refuses non-public addresses before connecting, so resolving every
    name to a TEST-NET address makes it refuse them without a DNS query. IP literals skip that
    resolution, and a fuzzed public one would pass the guard, so `_open`, the one function that
    connects, is replaced too. The socket module is swapped only inside picker.outbound: boto3
    still reaches the S3 server on 127.0.0.1 in the services profile.
    """
    from picker import outbound

    fake_socket = SimpleNamespace(
        getaddrinfo=_fake_getaddrinfo, SOCK_STREAM=socket.SOCK_STREAM, inet_aton=socket.inet_aton
    )
    monkeypatch.setattr(outbound, "socket", fake_socket)
    monkeypatch.setattr(outbound, "_open", _fake_open)
    settings.OPENPICKER_OUTBOUND_ALLOW = [FETCH_HOST]


FLICKR = "http://flickr.test"
# What the canned Flickr answers: OAuth's request token, and every API call "token rejected".
FLICKR_REQUEST_TOKEN = "oauth_callback_confirmed=true&oauth_token=rt&oauth_token_secret=rs"
FLICKR_REJECTED = {"stat": "fail", "code": 98, "message": "Invalid auth token"}


def _flickr_answer(request):
    if request.path_url.startswith("/services/oauth/request_token"):
        return 200, {"Content-Type": "application/x-www-form-urlencoded"}, FLICKR_REQUEST_TOKEN
    return 200, {"Content-Type": "application/json"}, json.dumps(FLICKR_REJECTED)


@pytest.fixture
def canned_flickr(settings):
    """Flickr (requests, not picker.outbound) answered in-process: nothing leaves the machine.

    The request-token step succeeds (so auth/open reaches its redirect) and every API call is
    refused as Flickr refuses a revoked token, so the connected account's calls run the adapter's
    error mapping. Any other requests URL gets a ConnectionError (Flickr unreachable).
    """
    settings.OPENPICKER_FLICKR_KEY = "fuzz-flickr-key"
    settings.OPENPICKER_FLICKR_SECRET = "fuzz-flickr-secret"  # noqa: S105 - a fake Flickr's
    settings.OPENPICKER_FLICKR_WWW_BASE = FLICKR
    settings.OPENPICKER_FLICKR_API_BASE = FLICKR
    settings.OPENPICKER_FLICKR_UPLOAD_BASE = f"{FLICKR}/up"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as flickr:
        for method in (responses.GET, responses.POST):
            flickr.add_callback(method, re.compile(rf"{re.escape(FLICKR)}/.*"), _flickr_answer)
        yield flickr


@pytest.fixture
def fuzz_world(db, no_network, canned_flickr, settings):
    from django.core import signals
    from django.db import close_old_connections

    # No Celery worker runs here: a conversion would wait its whole wait for nothing, then 202.
    settings.OPENPICKER_CONVERT_WAIT = 0

    # As django.test.Client does: a request must not close the connection that holds the test
    # transaction (Django would mark it for rollback, and every later query would fail).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield FuzzWorld()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# --- cases that get past authentication -------------------------------------------------------


def _set(container, name: str, value) -> None:
    if isinstance(container, dict):
        container[name] = value


def _query(case) -> dict:
    if not isinstance(case.query, dict):
        case.query = {}
    return case.query


def _credentials(case, choice: str, *, in_body: bool, authorization: str = "") -> None:
    """Present the seeded app's credentials as `choice` says, where the operation reads them."""
    if choice == "as-generated":
        return
    if choice in {"basic", "bad-basic"}:
        header = _basic() if choice == "basic" else authorization
        case.headers = {**(case.headers or {}), "Authorization": header}
        return
    target = case.body if in_body else _query(case)
    if in_body and not isinstance(case.body, dict):
        return
    _set(target, "apikey" if in_body else "key", APIKEY)
    if choice == "policy":
        policy, signature = _policy()
        _set(target, "policy", policy)
        _set(target, "signature", signature)


def _md5_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _put_part(case) -> None:
    """A part PUT whose size, md5 and signature match its body (the upload_id is the seeded one)."""
    from picker import multipart

    data = case.body if isinstance(case.body, bytes) else str(case.body).encode()
    case.body = data or b"x"
    size, md5 = len(case.body), _md5_base64(case.body)
    case.path_parameters = {"upload_id": UPLOAD_ID, "part": 1}
    expires = int(time.time()) + 600
    case.query = {
        "size": size,
        "md5": md5,
        "expires": expires,
        "signature": multipart.part_signature(UPLOAD_ID, 1, size, md5, expires),
    }


def _cdn_path(generated, variant: int) -> str:
    policy, signature = _policy()
    prefixes = [
        "",
        f"{APIKEY}/",
        "cache=false/",
        f"security=p:{policy},s:{signature}/",
        f"{generated}/",
    ]
    return prefixes[variant % len(prefixes)] + (HANDLE, SYMLINK, HOSTILE)[variant % 3]


def steer(case, credentials: str, variant: int, authorization: str = ""):
    """Point a case at the seeded world; `variant` picks among handles, URLs and CDN paths."""
    operation = case.operation.definition.raw.get("operationId", "")
    params = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    body = case.body if isinstance(case.body, dict) else None
    present = {"in_body": False, "authorization": authorization}
    if "handle" in params:
        params["handle"] = (HANDLE, SYMLINK, HOSTILE)[variant % 3]
    if operation == "store":
        params["location"] = "S3"
    if operation in {"store", "file_overwrite"} and body is not None and "url" in body:
        body["url"] = FETCH_URLS[variant % len(FETCH_URLS)]
    if body is not None and (operation.startswith("process") or operation.startswith("multipart_")):
        case.media_type = "application/json"  # what the SDKs send; forms flatten lists and objects
    if operation.startswith("process"):
        present["in_body"] = True
        if body is not None:
            body["sources"] = [FETCH_URLS[variant % len(FETCH_URLS)]]
            # The schema types a task's params as any object; a store task's are these.
            store = {
                "location": "S3",
                "filename": "fetched.bin",
                "path": f"fuzz/{variant}/",
                "access": "public",
            }
            body["tasks"] = [{"name": "store", "params": dict(list(store.items())[: variant % 5])}]
            if credentials == "policy":
                policy, signature = _policy()
                security = {"policy": policy, "signature": signature}
                body["tasks"] = [*body["tasks"], {"name": "security", "params": security}]
                credentials = "apikey"
    elif operation.startswith("multipart_") and operation != "multipart_put_part":
        present["in_body"] = True
        if body is not None and operation != "multipart_start":
            body["upload_id"] = UPLOAD_ID
        if body is not None and operation == "multipart_start" and variant % 2:
            body["size"] = 1 + variant
        if body is not None and operation == "multipart_upload" and variant % 2:
            body.update(part=1 + variant % 3, size=len(PART_BYTES), md5=_md5_base64(PART_BYTES))
        if body is not None and operation == "multipart_complete" and variant % 2:
            body["parts"] = [{"part_number": 1, "etag": PART_MD5.hexdigest()}]
    elif operation == "multipart_put_part":
        _put_part(case)
        return case
    elif operation.startswith(("cloud_", "flickr_proxy")):
        present["in_body"] = True
        if body is not None:
            _steer_cloud(body, operation, variant)
    elif operation.startswith("provider_auth"):
        case.path_parameters = {**params, "provider": "flickr"}
        if operation == "provider_auth_open" and variant % 3:
            _query(case)["token"] = SESSION
            if variant % 2:
                _query(case)["perms"] = "write"
    elif operation in {"cdn", "cdn_metadata"}:
        case.path_parameters = {"path": _cdn_path(params.get("path", ""), variant)}
        if credentials not in {"basic", "bad-basic"}:
            return case
    _credentials(case, credentials, **present)
    return case


# A well-formed item per cloud route, for cases whose generated `clouds` is not one.
CLOUD_ITEMS = {
    "cloud_folder_list": ({"path": "/"}, {"path": "/", "next": "2"}),
    "cloud_store": ({"path": "/photos/1"}, {"path": "/photos/1", "store": {"location": "S3"}}),
    "cloud_export": ({"filename": "pixel.png"}, {"title": "t", "tags": "a b"}),
    "cloud_auth_logout": ({}, {}),
}


def _steer_cloud(body: dict, operation: str, variant: int) -> None:
    """A cloud call for the connected account's session (or a fresh one), naming `flickr`."""
    from providers.flickr import proxy

    if variant % 4:
        body["token"] = SESSION
    if operation.startswith("flickr_proxy"):
        methods = sorted(proxy.READ_METHODS | proxy.WRITE_METHODS)
        body["method"] = methods[variant % len(methods)]
        return
    clouds = body.get("clouds")
    item = next(iter(clouds.values()), None) if isinstance(clouds, dict) and clouds else None
    if not isinstance(item, dict) or variant % 2:
        item = CLOUD_ITEMS[operation.rstrip("_0123456789")][variant % 2]
    if variant % 5:
        body["clouds"] = {"flickr": item}
        for junk in ("flow", "policy", "signature", "apikey"):  # _credentials sets what it uses
            body.pop(junk, None)
    if operation == "cloud_export" and variant % 2:
        body["handle"] = (HANDLE, SYMLINK, HOSTILE)[variant % 3]
        body.pop("url", None)
    elif operation == "cloud_export":
        body["url"] = FETCH_URLS[variant % len(FETCH_URLS)]


def flatmap_case(context, case):
    """Fuzzing phase: Hypothesis chooses whether and how a case is steered (half are left alone)."""
    steering = st.tuples(st.sampled_from(CREDENTIALS), st.integers(0, 59), BAD_BASIC, st.booleans())
    return steering.map(
        lambda chosen: case if chosen[3] else steer(case, chosen[0], chosen[1], chosen[2])
    )


def map_case(context, case):
    """Coverage phase (explicit cases, no strategy): steer every other case, deterministically."""
    phase = getattr(getattr(case.meta, "phase", None), "name", None)
    if phase is None or phase.value != "coverage":
        return case
    digest = zlib.crc32(f"{case.operation.label} {case.media_type} {case!r}".encode())
    if digest % 2:
        return case
    credentials = CREDENTIALS[(digest >> 1) % len(CREDENTIALS)]
    authorization = BAD_BASIC_EXAMPLES[(digest >> 4) % len(BAD_BASIC_EXAMPLES)]
    return steer(case, credentials, digest >> 8, authorization)


# --- the schema and the checks ------------------------------------------------------------------


def error_body_shape(ctx, response, case):
    """Every 4xx is JSON with an "error" code and a "detail" sentence (picker.http.errors)."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        data = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"a {response.status_code} whose body is not JSON") from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("error"), str)
        and isinstance(data.get("detail"), str)
    ):
        raise AssertionError(f'a {response.status_code} without "error" and "detail": {data!r}')
    return None


def load_schema():
    """The schema as served; loading it needs Django, not the database."""
    from openpicker.wsgi import application

    config = schemathesis.Config.from_dict(
        {
            "suppress-health-check": ["all"],
            "cache": {"enabled": False},
            # The credentials are the seeded app's; a failure report should show them to reproduce.
            "output": {"sanitization": {"enabled": False}},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)
    loaded.hook("flatmap_case")(flatmap_case)
    loaded.hook("map_case")(map_case)
    return loaded


schema = load_schema()


@schema.parametrize()
def test_no_input_makes_a_server_error(case, fuzz_world):
    with fuzz_world.example():
        response = case.call()
    case.validate_response(response, checks=[not_a_server_error, error_body_shape])

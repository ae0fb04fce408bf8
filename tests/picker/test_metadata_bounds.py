"""Metadata flags do bounded work: width, height and exif read the header only (bytes read and
peak memory measured), digests come from the row and a file is hashed at most once."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from contextlib import contextmanager

import pytest
from PIL import Image

from picker import storage
from picker.models import FileLink
from tests.conftest import database_url
from tests.servers import ROOT

MiB = 1024 * 1024
HEADER_BYTES = 256 * 1024  # more than one ranged read of 64 KiB at each end of a file
MAKE = "OpenPicker test camera"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _exif_payload() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = MAKE
    return exif.tobytes()[6:]  # a PNG eXIf chunk holds the TIFF structure without "Exif\0\0"


def png_bomb(side: int, *, exif_before_pixels: bool) -> bytes:
    """An RGBA PNG of side x side zero pixels (side² x 4 bytes decoded) in a few MB of file."""
    raw_row = bytes(1 + side * 4)  # filter byte + pixels, all zero
    packer = zlib.compressobj(1)
    compressed = [packer.compress(raw_row * 64) for _ in range(side // 64)]
    compressed.append(packer.compress(raw_row * (side % 64)))
    compressed.append(packer.flush())
    exif = _chunk(b"eXIf", _exif_payload())
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)),
            exif if exif_before_pixels else b"",
            _chunk(b"IDAT", b"".join(compressed)),
            b"" if exif_before_pixels else exif,
            _chunk(b"IEND", b""),
        ]
    )


def tiff_with_directory_last(width: int, height: int) -> bytes:
    """An 8-bit grey TIFF whose image directory follows the pixels, as libtiff writes it: the
    header points at the end of the file."""
    pixels = width * height
    ifd_offset = 8 + pixels + (pixels % 2)
    make = MAKE.encode() + b"\0"
    entries = [
        (256, 4, 1, width),  # ImageWidth, LONG
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample, SHORT
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # PhotometricInterpretation: black is zero
        (271, 2, len(make), None),  # Make, ASCII, stored after the directory
        (273, 4, 1, 8),  # StripOffsets
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, pixels),  # StripByteCounts
    ]
    make_offset = ifd_offset + 2 + 12 * len(entries) + 4
    directory = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if value is None:
            directory += struct.pack("<HHII", tag, kind, count, make_offset)
        elif kind == 3:
            directory += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            directory += struct.pack("<HHII", tag, kind, count, value)
    directory += struct.pack("<I", 0)
    return (
        b"II*\0"
        + struct.pack("<I", ifd_offset)
        + b"\x80" * pixels
        + b"\0" * (pixels % 2)
        + directory
        + make
    )


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return png_bomb(8000, exif_before_pixels=True)  # 256 MB of RGBA once decoded


@pytest.fixture(scope="module")
def late_bomb() -> bytes:
    """The bomb with its eXIf after the pixels: Pillow's getexif would decode it to get there."""
    return png_bomb(8000, exif_before_pixels=False)


@pytest.fixture(scope="module")
def big_tiff() -> bytes:
    return tiff_with_directory_last(8000, 5000)  # 40 MB


class _Counting:
    """A file that counts the bytes read through it."""

    def __init__(self, file, counter):
        self._file, self._counter = file, counter

    def read(self, n=-1):
        data = self._file.read(n)
        self._counter["bytes"] += len(data)
        return data

    def readinto(self, buffer):
        count = self._file.readinto(buffer)
        self._counter["bytes"] += count
        return count

    def __getattr__(self, name):
        return getattr(self._file, name)


@pytest.fixture
def fetched(monkeypatch):
    """Counts the bytes fetched from storage: every read of a stored object goes through
    read_range (ranges, streams) or open_object (a whole object, the file itself on disk)."""
    counter = {"bytes": 0}
    real_range, real_open = storage.read_range, storage.open_object

    def counting_range(*args, **kwargs):
        for chunk in real_range(*args, **kwargs):
            counter["bytes"] += len(chunk)
            yield chunk

    @contextmanager
    def counting_open(*args, **kwargs):
        with real_open(*args, **kwargs) as reader:
            # A stream of chunks comes from read_range, counted there.
            streamed = isinstance(reader, storage.ChainReader)
            yield reader if streamed else _Counting(reader, counter)

    monkeypatch.setattr(storage, "read_range", counting_range)
    monkeypatch.setattr(storage, "open_object", counting_open)
    return counter


def basic(app) -> dict:
    token = base64.b64encode(f"app:{app.secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def stored(store, app, data: bytes, filename: str) -> FileLink:
    response = store(app, data, filename=filename)
    assert response.status_code == 200, response.content
    return FileLink.objects.get(handle=response.json()["handle"])


# -- header only: the files and what they yield ----------------------------------------------


def test_the_fixtures_are_what_they_claim(bomb, big_tiff):
    """The TIFF's directory is at its end, and the PNG is a bomb: small file, huge image."""
    assert struct.unpack("<I", big_tiff[4:8])[0] > len(big_tiff) - 200
    with Image.open(io.BytesIO(big_tiff)) as image:
        assert image.size == (8000, 5000)
        assert image.getexif()[0x010F] == MAKE
    assert len(bomb) < 2 * MiB
    with Image.open(io.BytesIO(bomb)) as image:
        assert (image.size, image.mode) == ((8000, 8000), "RGBA")
        assert image.getexif()[0x010F] == MAKE


@pytest.mark.django_db
def test_width_of_a_large_tiff_reads_only_its_header(client, app, store, big_tiff, fetched):
    link = stored(store, app, big_tiff, "scan.tif")
    assert link.mimetype == "image/tiff"
    fetched["bytes"] = 0
    response = client.get(f"/api/file/{link.handle}/metadata?width=true&height=true")
    assert response.json() == {"width": 8000, "height": 5000, "handle": link.handle}
    assert 0 < fetched["bytes"] <= HEADER_BYTES < len(big_tiff) // 100
    # Kept on the row: asking again reads nothing.
    fetched["bytes"] = 0
    again = client.get(f"/api/file/{link.handle}/metadata?width=true")
    assert again.json()["width"] == 8000 and fetched["bytes"] == 0


@pytest.mark.django_db
def test_exif_of_a_large_tiff_reads_only_its_header(client, app, store, big_tiff, fetched):
    link = stored(store, app, big_tiff, "scan.tif")
    fetched["bytes"] = 0
    response = client.get(f"/api/file/{link.handle}/metadata?exif=true", **basic(app))
    assert response.json()["exif"]["Make"] == MAKE
    assert 0 < fetched["bytes"] <= HEADER_BYTES


@pytest.mark.django_db
def test_exif_and_width_of_a_png_bomb_read_only_its_header(client, app, store, bomb, fetched):
    link = stored(store, app, bomb, "bomb.png")
    fetched["bytes"] = 0
    response = client.get(f"/api/file/{link.handle}/metadata?exif=true&width=true", **basic(app))
    assert response.status_code == 200, response.content
    assert response.json()["exif"]["Make"] == MAKE
    assert response.json()["width"] == 8000
    assert 0 < fetched["bytes"] <= HEADER_BYTES < len(bomb)


@pytest.mark.django_db
def test_exif_after_the_pixels_of_a_png_is_not_looked_for(client, app, store, fetched):
    """Finding it would mean decoding the image: the answer is empty, from the header."""
    late = png_bomb(4000, exif_before_pixels=False)
    link = stored(store, app, late, "late.png")
    fetched["bytes"] = 0
    response = client.get(f"/api/file/{link.handle}/metadata?exif=true", **basic(app))
    assert response.json()["exif"] == {}
    assert fetched["bytes"] <= 64 * 1024 < len(late)


# -- peak memory, in a process of its own ----------------------------------------------------

MEASURE = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")
django.setup()
from django.test import Client
from PIL import Image
from picker import storage
from picker.models import FileLink

def peak_kib():
    # VmHWM is this process's own peak (ru_maxrss also counts the forking parent's, at exec).
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

handle, query, auth = sys.argv[1:4]
link = FileLink.objects.select_related("app").get(handle=handle)
Image.init()
b"".join(storage.read_range(storage.location_of(link), link.key, 0, 0))  # connect
client = Client(HTTP_HOST="127.0.0.1")
client.get(f"/api/file/{handle}/metadata?size=true", HTTP_AUTHORIZATION=auth)
fetched = [0]
real = storage.read_range
def counting(*args, **kwargs):
    for chunk in real(*args, **kwargs):
        fetched[0] += len(chunk)
        yield chunk
storage.read_range = counting
before = peak_kib()
response = client.get(f"/api/file/{handle}/metadata?{query}", HTTP_AUTHORIZATION=auth)
peak = peak_kib()
print(json.dumps({"status": response.status_code, "body": response.json(),
                  "fetched": fetched[0], "before_kib": before, "peak_kib": peak}))
"""


def measure(link: FileLink, query: str) -> dict:
    """Run one metadata request in a fresh process: its answer, bytes fetched, peak RSS."""
    token = base64.b64encode(f"app:{link.app.secret}".encode()).decode()
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, link.handle, query, f"Basic {token}"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fixture", "query", "expected"),
    [
        ("bomb", "exif=true", {"exif": {"Make": MAKE}}),
        ("late_bomb", "exif=true", {"exif": {}}),
        ("bomb", "width=true&height=true", {"width": 8000, "height": 8000}),
        ("big_tiff", "width=true", {"width": 8000}),
        ("big_tiff", "exif=true", {"exif": {"Make": MAKE}}),
    ],
)
def test_peak_memory_stays_flat(request, make_app, store, fixture, query, expected):
    """A decode of the bomb would take 256 MB, a copy of the TIFF 40 MB; the header, neither."""
    app = make_app("measured")
    name = "scan.tif" if fixture == "big_tiff" else "bomb.png"
    link = stored(store, app, request.getfixturevalue(fixture), name)
    result = measure(link, query)
    assert result["status"] == 200, result
    # The process itself (Django, boto3, Pillow) holds about 110 MB: what counts is the growth.
    growth = (result["peak_kib"] - result["before_kib"]) * 1024
    assert growth < 16 * MiB, result
    assert 0 < result["fetched"] <= HEADER_BYTES, result
    for key, value in expected.items():
        if key == "exif" and value:
            assert result["body"]["exif"]["Make"] == value["Make"]
        else:
            assert result["body"][key] == value


# -- digests: from the row, each computed at most once ---------------------------------------

HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


@pytest.mark.django_db
def test_digests_match_hashlib_and_each_is_computed_once(client, app, store, fetched):
    data = os.urandom(MiB + 17)
    link = stored(store, app, data, "d.bin")
    expected = {name: hashlib.new(name, data).hexdigest() for name in HASHES}
    url = f"/api/file/{link.handle}/metadata"

    fetched["bytes"] = 0
    assert client.get(f"{url}?md5=true&sha256=true").json() == {
        "md5": expected["md5"],
        "sha256": expected["sha256"],
        "handle": link.handle,
    }
    assert fetched["bytes"] == 0  # the store computed these

    fetched["bytes"] = 0
    answer = client.get(f"{url}?sha1=true&sha512=true").json()
    assert (answer["sha1"], answer["sha512"]) == (expected["sha1"], expected["sha512"])
    assert fetched["bytes"] == len(data)  # one pass for both

    fetched["bytes"] = 0
    everything = client.get(url + "?" + "&".join(f"{name}=true" for name in HASHES)).json()
    assert {name: everything[name] for name in HASHES} == expected
    assert fetched["bytes"] == len(data)  # sha224 and sha384, together; the rest from the row

    fetched["bytes"] = 0
    assert client.get(url + "?" + "&".join(f"{n}=true" for n in HASHES)).json() == everything
    assert fetched["bytes"] == 0
    link.refresh_from_db()
    assert {name: getattr(link, name) for name in HASHES} == expected


@pytest.mark.django_db
def test_an_overwrite_replaces_every_kept_digest(client, app, store, fetched):
    link = stored(store, app, b"first bytes", "o.bin")
    url = f"/api/file/{link.handle}/metadata?sha1=true&sha384=true&md5=true"
    assert client.get(url).json()["sha1"] == hashlib.sha1(b"first bytes").hexdigest()
    overwritten = client.post(
        f"/api/file/{link.handle}?key={app.apikey}",
        data=b"second bytes",
        content_type="application/octet-stream",
    )
    assert overwritten.status_code == 200, overwritten.content
    answer = client.get(url).json()
    for name in ("sha1", "sha384", "md5"):
        assert answer[name] == hashlib.new(name, b"second bytes").hexdigest(), name


@pytest.mark.django_db
def test_a_row_without_digests_gets_them_once(client, app, store, fetched):
    """Rows stored before digests were kept: computed on first request, then kept."""
    data = b"an older file" * 1000
    link = stored(store, app, data, "old.bin")
    FileLink.objects.filter(pk=link.pk).update(md5="", sha256="")
    url = f"/api/file/{link.handle}/metadata?md5=true&sha256=true"
    fetched["bytes"] = 0
    answer = client.get(url).json()
    assert answer["md5"] == hashlib.md5(data).hexdigest()
    assert answer["sha256"] == hashlib.sha256(data).hexdigest()
    assert fetched["bytes"] == len(data)
    fetched["bytes"] = 0
    assert client.get(url).json() == answer
    assert fetched["bytes"] == 0

"""The pass-through readers uploads flow through."""

import base64
import hashlib
import io
import random
import threading

import pytest

from picker.errors import BadRequest, TooLarge
from picker.streams import (
    PIPELINE_BYTES,
    Base64Reader,
    HashingReader,
    PipelinedDigest,
    read_head,
)


def trickle(data: bytes, step: int = 1000):
    """A source that returns at most `step` bytes a read, like a socket."""
    stream = io.BytesIO(data)
    return lambda n: stream.read(min(n, step))


def test_reads_are_full_until_the_end_even_after_the_sniffed_head():
    # boto3 decides single PUT vs multipart from the size of one read: a short first read
    # made it buffer whole files in memory.
    data = bytes(range(256)) * 40_000
    read = trickle(data)
    head = read_head(read, 8192)
    reader = HashingReader(read, head=head)
    first = reader.read(8 * 1024 * 1024)
    assert len(first) == 8 * 1024 * 1024
    rest = reader.read(-1)
    assert first + rest == data
    assert reader.size == len(data)
    assert reader.md5 == hashlib.md5(data).hexdigest()
    assert reader.sha256 == hashlib.sha256(data).hexdigest()


def test_digests_are_right_over_reads_of_every_size_around_the_pipeline_threshold():
    # MD5 updates of large chunks run on a pool thread: each must land after the one before.
    rng = random.Random(7)
    data = rng.randbytes(6 * 1024 * 1024)
    sizes = [1, PIPELINE_BYTES - 1, PIPELINE_BYTES, PIPELINE_BYTES + 1, 3, 300_000, 17]
    reader = HashingReader(io.BytesIO(data).read)
    got = []
    while chunk := reader.read(rng.choice(sizes)):
        got.append(chunk)
    assert b"".join(got) == data
    assert reader.md5 == hashlib.md5(data).hexdigest()
    assert reader.sha256 == hashlib.sha256(data).hexdigest()


class ThreadRecordingDigest:
    def __init__(self):
        self.inner = hashlib.md5()
        self.threads = []

    def update(self, data):
        self.threads.append((len(data), threading.current_thread()))
        self.inner.update(data)

    def hexdigest(self):
        return self.inner.hexdigest()


def test_large_updates_are_hashed_off_the_callers_thread_and_small_ones_in_line():
    recorder = ThreadRecordingDigest()
    digest = PipelinedDigest(recorder)
    parts = [b"a" * 10, b"b" * PIPELINE_BYTES, b"c" * 5, b"d" * (2 * PIPELINE_BYTES)]
    for part in parts:
        digest.update(part)
    assert digest.hexdigest() == hashlib.md5(b"".join(parts)).hexdigest()
    here = threading.current_thread()
    assert [(size, thread is here) for size, thread in recorder.threads] == [
        (10, True),
        (PIPELINE_BYTES, False),
        (5, True),
        (2 * PIPELINE_BYTES, False),
    ]


def test_a_failed_pipelined_update_is_raised_to_the_reader():
    class Broken:
        def update(self, data):
            raise MemoryError("no room")

        def hexdigest(self):
            return ""

    digest = PipelinedDigest(Broken())
    digest.update(b"x" * PIPELINE_BYTES)
    with pytest.raises(MemoryError):
        digest.update(b"y" * PIPELINE_BYTES)


def test_limit_stops_the_stream():
    reader = HashingReader(trickle(b"x" * 5000), limit=4096)
    with pytest.raises(TooLarge):
        while reader.read(1024):
            pass


def test_base64_reader_decodes_across_chunk_boundaries_and_whitespace():
    data = bytes(range(256)) * 100
    encoded = base64.b64encode(data)
    wrapped = b"\r\n".join(encoded[i : i + 57] for i in range(0, len(encoded), 57))
    reader = Base64Reader(trickle(wrapped, 333))
    out = b"".join(iter(lambda: reader.read(1000), b""))
    assert out == data
    with pytest.raises(BadRequest):
        Base64Reader(trickle(b"****")).read(10)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100])
def test_chain_reader_gives_full_reads_in_order_across_parts(n):
    from picker.storage import ChainReader

    chunks = [bytes([i]) * (i % 6) for i in range(50)]  # empty chunks and parts included
    reader = ChainReader(iter([iter(chunks[:20]), iter([]), iter(chunks[20:])]))
    reads = list(iter(lambda: reader.read(n), b""))
    assert b"".join(reads) == b"".join(chunks)
    assert all(len(read) == n for read in reads[:-1]) and 0 < len(reads[-1]) <= n


def test_s3_parts_are_as_small_as_s3_and_the_cap_allow():
    from picker.storage import S3_MAX_PARTS, S3_MIN_PART, s3_part_size

    mib = 1024 * 1024
    assert s3_part_size(5 * 1024**3) == S3_MIN_PART  # the default cap: 5 MiB parts
    big = 100 * 1024**3
    assert s3_part_size(big) == 11 * mib and s3_part_size(big) * S3_MAX_PARTS >= big
    assert (s3_part_size(big) - mib) * S3_MAX_PARTS < big  # no larger than needed


def test_read_range_yields_chunks_of_the_size_asked(tmp_path):
    from django.core.files.storage import FileSystemStorage

    from picker.storage import ChainReader, Location, read_range

    data = bytes(range(256)) * 40  # 10,240 bytes
    (tmp_path / "object").write_bytes(data)
    location = Location(FileSystemStorage(location=tmp_path), "", "local", "", None)
    chunks = list(read_range(location, "object", chunk=1000))
    assert [len(chunk) for chunk in chunks] == [1000] * 10 + [240]
    assert b"".join(chunks) == data
    part = list(read_range(location, "object", 5, 2504, chunk=1000))
    assert [len(chunk) for chunk in part] == [1000, 1000, 500]
    assert b"".join(part) == data[5:2505]
    # A read of exactly one chunk hands that chunk on as it is.
    reader = ChainReader([read_range(location, "object", chunk=1000)])
    first = reader.read(1000)
    assert first == data[:1000] and reader.read(1000) == data[1000:2000]

"""The pass-through readers uploads flow through."""

import base64
import hashlib
import io

import pytest

from picker.errors import BadRequest, TooLarge
from picker.streams import Base64Reader, HashingReader, read_head


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

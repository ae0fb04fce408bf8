"""picker.s3.S3Storage: the threads of a process share one boto3 client per set of settings."""

import io
import threading

from picker.s3 import S3Storage


def make(moto, bucket="shared-client", **options) -> S3Storage:
    return S3Storage(
        bucket_name=bucket,
        endpoint_url=moto.url,
        region_name="us-east-1",
        access_key=options.pop("access_key", "testing"),
        secret_key="testing",
        file_overwrite=True,
        default_acl=None,
        querystring_auth=False,
        **options,
    )


def in_thread(function):
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_threads_and_instances_share_one_client_but_not_resources(moto):
    moto.create_bucket("shared-client")
    storage = make(moto)
    here = storage.connection
    there = in_thread(lambda: storage.connection)
    assert here is storage.connection  # one resource per thread, kept
    assert there is not here  # resources are not thread-safe: each thread has its own
    assert there.meta.client is here.meta.client  # over one client
    assert make(moto).connection.meta.client is here.meta.client  # same settings, same client
    other = make(moto, access_key="another")  # other credentials: a client of their own
    assert other.connection.meta.client is not here.meta.client
    assert storage.unsigned_connection.meta.client is not here.meta.client


def test_the_shared_client_stores_and_reads_from_several_threads(moto):
    moto.create_bucket("shared-client")
    storage = make(moto)
    names = [f"t{i}.txt" for i in range(4)]
    threads = [
        threading.Thread(target=storage.save, args=(name, io.BytesIO(name.encode() * 100)))
        for name in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        with storage.open(name, "rb") as handle:
            assert handle.read() == name.encode() * 100

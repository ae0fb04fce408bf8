"""django-storages' S3 backend with one boto3 client per process, shared by every thread.

django-storages keeps a boto3 resource per thread, each from a new boto3 Session, and every
Session loads botocore's endpoint and service data again: about 17 MB per thread, so a
gthread worker with 4 threads sat near 160 MB before any upload (benchmarks/README.md).
Clients are thread-safe; sessions and resources are not. Here one boto3 Session per process
makes the clients (under a lock), one client per set of connection settings (credentials,
region, endpoint, config), and each thread gets its own light resource object over that
shared client. Imported only when S3 is used (boto3 costs ~35 MB of RSS).
"""

from __future__ import annotations

import threading

import boto3
import botocore
from botocore.config import Config
from storages.backends import s3

# botocore (1.36 on) adds a CRC32 to every upload and checks it on every download unless told
# "when_required". The server hashes every byte it stores itself (md5, sha256), TLS protects
# the bytes in transit, and several S3-compatible services (apps' own buckets) refuse the new
# trailers; the chunked trailer also buffered each 8 MiB part once more. A client_config that
# names either setting keeps its choice.
_CHECKSUMS = ("request_checksum_calculation", "response_checksum_validation")

_lock = threading.Lock()
_session: boto3.Session | None = None
_resources: dict[tuple, object] = {}


def _config_key(config: Config | None) -> str:
    return repr(sorted((config._user_provided_options if config else {}).items()))


def shared_resource(storage: s3.S3Storage, *, unsigned: bool = False):
    """The process's resource (and client) for this storage's connection settings."""
    global _session
    config = storage.client_config
    chosen = config._user_provided_options if config else {}
    checksums = {name: "when_required" for name in _CHECKSUMS if name not in chosen}
    if checksums:
        config = config.merge(Config(**checksums)) if config else Config(**checksums)
    if unsigned:
        config = config.merge(Config(signature_version=botocore.UNSIGNED))
    key = (
        storage.access_key,
        storage.secret_key,
        storage.security_token,
        storage.region_name,
        storage.use_ssl,
        storage.endpoint_url,
        str(storage.verify),
        _config_key(config),
    )
    resource = _resources.get(key)
    if resource is None:
        with _lock:
            resource = _resources.get(key)
            if resource is None:
                if _session is None:
                    _session = boto3.Session()
                resource = _session.resource(
                    "s3",
                    aws_access_key_id=storage.access_key,
                    aws_secret_access_key=storage.secret_key,
                    aws_session_token=storage.security_token,
                    region_name=storage.region_name,
                    use_ssl=storage.use_ssl,
                    endpoint_url=storage.endpoint_url,
                    config=config,
                    verify=storage.verify,
                )
                _resources[key] = resource
    return resource


class S3Storage(s3.S3Storage):
    """S3Storage whose threads share one client (a profile name keeps the library's way)."""

    def _thread_resource(self, local: threading.local, unsigned: bool):
        resource = getattr(local, "connection", None)
        if resource is None:
            shared = shared_resource(self, unsigned=unsigned)
            # Resources are not thread-safe; a new one over the shared client costs little.
            resource = local.connection = type(shared)(client=shared.meta.client)
        return resource

    @property
    def connection(self):
        if self.session_profile:
            return super().connection
        return self._thread_resource(self._connections, unsigned=False)

    @property
    def unsigned_connection(self):
        if self.session_profile:
            return super().unsigned_connection
        return self._thread_resource(self._unsigned_connections, unsigned=True)

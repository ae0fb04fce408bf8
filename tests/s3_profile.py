"""A pytest plugin (`-p tests.s3_profile`, see pyproject.toml) that starts moto's S3 server.

It must run before pytest-django configures Django, so that the settings read the endpoint:
plugins named with -p are imported before any conftest.
"""

from __future__ import annotations

import atexit
import os

from tests.servers import MotoS3

MOTO: MotoS3 | None = None

if os.environ.get("OPENPICKER_TEST_PROFILE") == "services" or (
    os.environ.get("OPENPICKER_STORAGE") == "s3" and not os.environ.get("AWS_S3_ENDPOINT_URL")
):
    MOTO = MotoS3()
    atexit.register(MOTO.stop)
    os.environ["OPENPICKER_STORAGE"] = "s3"
    os.environ["AWS_S3_ENDPOINT_URL"] = MOTO.url
    os.environ.setdefault("AWS_STORAGE_BUCKET_NAME", "openpicker-test")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_S3_REGION_NAME", "us-east-1")
    MOTO.create_bucket(os.environ["AWS_STORAGE_BUCKET_NAME"])

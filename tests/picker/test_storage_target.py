"""An app's own S3 bucket ("your own S3"), reached over HTTP on moto's server."""

import pytest

from picker.models import FileLink, StorageTarget
from tests.conftest import body

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_bucket(app, moto):
    moto.create_bucket("customer-bucket")
    moto.create_bucket("customer-other")
    return StorageTarget.objects.create(
        app=app,
        bucket="customer-bucket",
        region="us-east-1",
        endpoint_url=moto.url,
        path_prefix="tenant",
        access_key_id="testing",
        secret_access_key="testing",
    )


def bucket_keys(moto, bucket):
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return {obj["Key"] for obj in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_files_go_to_the_apps_bucket(client, app, own_bucket, moto, store):
    blob = store(app, b"in your bucket", filename="x.txt").json()
    assert blob["container"] == "customer-bucket"
    assert blob["key"].startswith("tenant/")
    assert blob["key"] in bucket_keys(moto, "customer-bucket")
    assert FileLink.objects.get(handle=blob["handle"]).provider == "amazon"
    assert body(client.get(f"/api/file/{blob['handle']}")) == b"in your bucket"
    meta = client.get(f"/api/file/{blob['handle']}/metadata").json()
    assert meta["location"] == "S3" and meta["container"] == "customer-bucket"
    client.delete(f"/api/file/{blob['handle']}?key={app.apikey}")
    assert blob["key"] not in bucket_keys(moto, "customer-bucket")


def test_container_picks_another_bucket_of_the_app(client, app, own_bucket, moto, store):
    blob = store(app, b"other", filename="y.txt", container="customer-other").json()
    assert blob["container"] == "customer-other"
    assert blob["key"] in bucket_keys(moto, "customer-other")
    assert body(client.get(f"/api/file/{blob['handle']}")) == b"other"


def test_container_naming_a_missing_bucket_is_a_400(client, app, own_bucket, moto, store):
    response = store(app, b"lost", filename="z.txt", container="customer-missing")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "bucket_not_found"
    assert "customer-missing" in response.json()["detail"]
    assert not FileLink.objects.filter(app=app).exists()


def test_credentials_are_encrypted_at_rest(own_bucket):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_key_id, secret_access_key FROM picker_storagetarget")
        raw = cursor.fetchone()
    assert "testing" not in raw[0] and "testing" not in raw[1]
    assert StorageTarget.objects.get().secret_access_key == "testing"

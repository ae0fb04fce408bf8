"""Storage: the app's own bucket, its endpoint vetted by the outbound guard, and the Check
that writes, reads and deletes a probe object on moto's S3."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from picker.models import StorageTarget
from tests.portal.conftest import bucket_keys

pytestmark = pytest.mark.django_db

BUCKET = "portal-storage"


def fields(moto, **changes) -> dict:
    return {
        "bucket": BUCKET,
        "region": "us-east-1",
        "endpoint_url": moto.url,
        "path_prefix": "tenant/",
        "access_key_id": "testing",
        "secret_access_key": "testing",
        **changes,
    }


def check(client, app) -> str:
    return client.post(f"/portal/apps/{app.pk}/storage/check").content.decode()


def test_a_private_endpoint_is_refused(as_alice, alice_app, moto):
    refused = as_alice.post(f"/portal/apps/{alice_app.pk}/storage/", fields(moto))
    assert refused.status_code == 400 and "The endpoint is refused" in refused.content.decode()
    metadata = as_alice.post(
        f"/portal/apps/{alice_app.pk}/storage/",
        fields(moto, endpoint_url="http://169.254.169.254/latest/"),
    )
    assert metadata.status_code == 400
    assert not StorageTarget.objects.filter(app=alice_app).exists()


def test_check_writes_reads_and_deletes_a_probe(as_alice, alice_app, moto, settings):
    moto.create_bucket(BUCKET)
    settings.OPENPICKER_OUTBOUND_ALLOW = [urlsplit(moto.url).netloc]
    saved = as_alice.post(f"/portal/apps/{alice_app.pk}/storage/", fields(moto))
    assert saved.status_code == 302
    target = StorageTarget.objects.get(app=alice_app)
    assert (target.bucket, target.path_prefix, target.access_key_id) == (
        BUCKET,
        "tenant",
        "testing",
    )
    page = check(as_alice, alice_app)
    assert 'data-testid="check-result" data-ok="true"' in page, page
    for step in ("write: ok", "read: ok", "delete: ok"):
        assert step in page
    assert bucket_keys(moto, BUCKET) == set()  # the probe is gone

    # An edit with empty key fields keeps the saved keys.
    as_alice.post(
        f"/portal/apps/{alice_app.pk}/storage/",
        fields(moto, access_key_id="", secret_access_key="", path_prefix="other"),
    )
    target.refresh_from_db()
    assert (target.path_prefix, target.secret_access_key) == ("other", "testing")


def test_check_reports_a_missing_bucket(as_alice, alice_app, moto, settings):
    settings.OPENPICKER_OUTBOUND_ALLOW = [urlsplit(moto.url).netloc]
    as_alice.post(f"/portal/apps/{alice_app.pk}/storage/", fields(moto, bucket="no-such-bucket"))
    page = check(as_alice, alice_app)
    assert 'data-ok="false"' in page and "write: failed" in page


def test_removing_the_bucket_is_refused_while_files_live_there(
    as_alice, alice_app, moto, settings, store
):
    moto.create_bucket(BUCKET)
    settings.OPENPICKER_OUTBOUND_ALLOW = [urlsplit(moto.url).netloc]
    as_alice.post(f"/portal/apps/{alice_app.pk}/storage/", fields(moto))
    assert store(alice_app, b"x", filename="x.txt").status_code == 200
    refused = as_alice.post(f"/portal/apps/{alice_app.pk}/storage/remove", follow=True)
    assert "delete them" in refused.content.decode()
    assert StorageTarget.objects.filter(app=alice_app).exists()

"""Secrets at rest across the whole database: a dump holds none in clear, and after rotate_keys
(the old key then gone) a connected Flickr account still browses with the app's own Auth Keys."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from picker.models import StorageTarget
from providers.models import ProviderConnection, ProviderCredential
from providers.sandbox.models import FlickrToken
from tests.providers.test_cloud_folder_list import connected_token
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dump_is_sealed_and_connections_work_after_rotate_keys(
    sandbox_api, flickr_sandbox, app, client, settings
):
    # The app's own Auth Keys (the sandbox's), so the connection's calls are signed with them.
    ProviderCredential.objects.create(
        app=app,
        provider="flickr",
        key=settings.OPENPICKER_FLICKR_KEY,
        secret=settings.OPENPICKER_FLICKR_SECRET,
    )
    target = StorageTarget.objects.create(
        app=app, bucket="b", access_key_id="AKIAEXAMPLEKEYID0001", secret_access_key="s3-secret-x"
    )
    endpoint = WebhookEndpoint.objects.create(app=app, url="https://hooks.example.com/in")
    token = connected_token(sandbox_api, app)
    connection = ProviderConnection.objects.get(app=app)
    access = FlickrToken.objects.get(key=connection.token, kind="access")

    out = io.StringIO()
    call_command("dumpdata", exclude=["sandbox"], stdout=out)  # the sandbox is Flickr's side
    dump = out.getvalue()
    models = {row["model"] for row in json.loads(dump)}
    assert {"picker.app", "picker.storagetarget", "providers.providerconnection"} <= models
    assert {"providers.providercredential", "webhooks.webhookendpoint"} <= models
    for clear in (
        access.key,
        access.secret,
        token,
        app.secret,
        settings.OPENPICKER_FLICKR_SECRET,
        target.secret_access_key,
        target.access_key_id,
        endpoint.secret,
    ):
        assert clear not in dump

    new_key = Fernet.generate_key().decode()
    settings.OPENPICKER_ENCRYPTION_KEYS = [new_key, *settings.OPENPICKER_ENCRYPTION_KEYS]
    call_command("rotate_keys", stdout=io.StringIO())
    settings.OPENPICKER_ENCRYPTION_KEYS = [new_key]  # the old key is retired

    browsed = client.post(
        "/cloud/folder/list",
        {"apikey": app.apikey, "token": token, "clouds": {"flickr": {"path": "/photostream/"}}},
        content_type="application/json",
    )
    assert browsed.status_code == 200, browsed.content
    assert "auth" not in browsed.json()["flickr"]
    assert browsed.json()["flickr"]["contents"][0]["path"] == "/photostream/50000000036"
    reloaded = ProviderConnection.objects.get(pk=connection.pk)
    assert (reloaded.token, reloaded.token_secret) == (access.key, access.secret)

"""Provider secrets at rest: encrypted columns, re-encrypted by rotate_keys, sealed in dumps."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.management import call_command
from django.db import connection

from providers.models import ProviderConnection, ProviderCredential

pytestmark = pytest.mark.django_db


def stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_rotate_keys_reencrypts_connections_and_credentials(app, settings):
    made = ProviderConnection.objects.create(
        app=app,
        provider="flickr",
        session_digest="d",
        account_id="1@N00",
        token="tok-clear",
        token_secret="sec-clear",
        permissions="read",
    )
    keys = ProviderCredential.objects.create(
        app=app, provider="flickr", key="key-clear", secret="app-secret-clear"
    )
    before = stored("providers_providerconnection", "token", made.pk)
    assert "tok-clear" not in before
    new_key = Fernet.generate_key().decode()
    settings.OPENPICKER_ENCRYPTION_KEYS = [new_key, *settings.OPENPICKER_ENCRYPTION_KEYS]
    call_command("rotate_keys", stdout=io.StringIO())
    after = stored("providers_providerconnection", "token", made.pk)
    assert after != before
    assert Fernet(new_key.encode()).decrypt(after.encode()).decode() == "tok-clear"
    secret = stored("providers_providercredential", "secret", keys.pk)
    assert Fernet(new_key.encode()).decrypt(secret.encode()).decode() == "app-secret-clear"


def test_dump_is_sealed_and_loads_back(app):
    made = ProviderConnection.objects.create(
        app=app,
        provider="flickr",
        session_digest="d",
        account_id="1@N00",
        token="tok-clear",
        token_secret="sec-clear",
        permissions="read",
    )
    out = io.StringIO()
    call_command("dumpdata", "providers.providerconnection", stdout=out)
    dump = out.getvalue()
    assert "tok-clear" not in dump and "sec-clear" not in dump
    made.delete()
    path = io.StringIO(dump)
    for obj in serializers.deserialize("json", path):
        obj.save()
    loaded = ProviderConnection.objects.get()
    assert (loaded.token, loaded.token_secret) == ("tok-clear", "sec-clear")
    assert json.loads(dump)[0]["fields"]["account_id"] == "1@N00"

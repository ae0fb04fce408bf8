"""Operator commands: createapp and rotate_keys."""

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from picker.models import App

pytestmark = pytest.mark.django_db


def createapp(*args) -> dict:
    out = StringIO()
    call_command("createapp", *args, stdout=out)
    return json.loads(out.getvalue())


def test_createapp_prints_key_and_secret(client):
    printed = createapp(
        "shop", "--owner", "dev@example.com", "--security", "--origin", "https://shop.example"
    )
    app = App.objects.get(apikey=printed["apikey"])
    assert app.secret == printed["secret"] and len(printed["apikey"]) == 20
    assert app.security_required and app.allowed_origins == ["https://shop.example"]
    assert app.owner.email == "dev@example.com"
    response = client.post(
        f"/api/store/S3?key={printed['apikey']}", b"x", content_type="application/octet-stream"
    )
    assert response.json()["error"] == "policy_required"


def test_createapp_get_or_create_is_stable():
    first = createapp("demo", "--get-or-create")
    assert createapp("demo", "--get-or-create") == first
    assert createapp("demo") != first


@pytest.mark.parametrize("args", [["x", "--owner", "not-an-email"], ["x", "--origin", "ftp://a"]])
def test_createapp_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        createapp(*args)
    assert not App.objects.exists()


def test_secret_is_encrypted_and_rotate_keys_reencrypts(settings):
    app = App.objects.create(name="a")
    old_keys = list(settings.OPENPICKER_ENCRYPTION_KEYS)

    def stored_token():
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM picker_app WHERE id = %s", [app.pk])
            return cursor.fetchone()[0]

    token = stored_token()
    assert app.secret not in token
    new_key = Fernet.generate_key().decode()
    settings.OPENPICKER_ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("rotate_keys", stdout=StringIO())
    rotated = stored_token()
    assert rotated != token
    assert Fernet(new_key.encode()).decrypt(rotated.encode()).decode() == app.secret
    settings.OPENPICKER_ENCRYPTION_KEYS = [new_key]
    assert App.objects.get(pk=app.pk).secret == app.secret


def test_api_keys_are_letters_and_digits_so_commands_take_them_as_arguments():
    # A key that started with "-" was read by argparse as an option of `addwebhook KEY URL`.
    import re

    from picker.handles import new_apikey

    keys = {new_apikey() for _ in range(500)}
    assert len(keys) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9]{20}", key) for key in keys)

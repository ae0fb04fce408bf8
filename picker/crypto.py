"""Secrets at rest: MultiFernet over OPENPICKER_ENCRYPTION_KEYS (newest first, rotatable)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    """The MultiFernet for the configured keys; the first key encrypts, all decrypt."""
    return _fernet(tuple(settings.OPENPICKER_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _decrypt(tuple(settings.OPENPICKER_ENCRYPTION_KEYS), token)


@lru_cache(maxsize=1024)
def _decrypt(keys: tuple[str, ...], token: str) -> str:
    """Every request that loads an app decrypts its secret: the same few tokens, remembered."""
    try:
        return _fernet(keys).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("stored secret cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code sees the plaintext.

    Serialized dumps (`dumpdata`, fixtures) hold the token too, never the plaintext: a dump of
    the database is as sealed as the database. `loaddata` decrypts it with any current key and a
    plaintext value (a hand-written fixture) is taken as it is; rotate_keys re-encrypts every
    such column of every installed model.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None or value == "" else encrypt(value)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return encrypt(value) if value else value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        try:
            return decrypt(value)
        except ValueError:
            return value

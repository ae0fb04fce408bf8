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
    """A text column holding a Fernet token; Python code sees the plaintext."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None or value == "" else encrypt(value)

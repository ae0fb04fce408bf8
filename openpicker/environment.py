"""Reading the operator contract (DESIGN.md §5) from the environment, with embedded defaults."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet


def env_bool(name: str, default: bool = False) -> bool:
    """A boolean environment variable: 1/true/yes/on are true."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    """A comma-separated environment variable as a list of non-empty, stripped items."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def generated_once(path: Path, make: callable) -> str:
    """Return the value stored at path, creating it atomically on first use.

    Several processes (web, worker, beat) start together on a fresh data dir; O_EXCL makes
    exactly one of them write the value and the others read it back.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.01)
        raise RuntimeError(f"{path} exists but stays empty") from None
    value = make()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def secret_key(data_dir: Path) -> str:
    """OPENPICKER_SECRET_KEY, or one generated into the data dir."""
    return os.environ.get("OPENPICKER_SECRET_KEY") or generated_once(
        data_dir / "secret_key", lambda: secrets.token_urlsafe(50)
    )


def encryption_keys(data_dir: Path) -> list[str]:
    """OPENPICKER_ENCRYPTION_KEYS (newest first), or one Fernet key generated into the data dir."""
    keys = env_list("OPENPICKER_ENCRYPTION_KEYS")
    if keys:
        return keys
    return [generated_once(data_dir / "encryption_key", lambda: Fernet.generate_key().decode())]


def cache_config(url: str) -> dict:
    """A Django CACHES entry from CACHE_URL (redis://, rediss://, locmem://, dummy://)."""
    scheme = urlsplit(url).scheme
    if scheme in {"redis", "rediss"}:
        from redis.exceptions import ConnectionError as RedisConnectionError

        # One immediate retry on a fresh connection when a pooled one was reset (Redis restarted
        # while the thread was idle): without it every thread's first call after a restart fails.
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"retry_on_error": [RedisConnectionError]},
        }
    if scheme == "dummy":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    if scheme == "locmem" or not scheme:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ValueError(f"CACHE_URL: unsupported scheme {scheme!r}")


def allowed_hosts(base_url: str) -> list[str]:
    """The base URL's host and its subdomains (cdn., upload., ...) and OPENPICKER_ALLOWED_HOSTS."""
    host = urlsplit(base_url).hostname or "127.0.0.1"
    hosts = [host, "." + host, *env_list("OPENPICKER_ALLOWED_HOSTS")]
    if host in {"127.0.0.1", "localhost"}:
        hosts += ["127.0.0.1", "localhost", ".localhost", "[::1]"]
    return hosts
